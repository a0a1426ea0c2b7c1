#!/usr/bin/env python3
"""Generate the chat-template fixtures of hearth-model (tests/fixtures/chat_templates/*.json).

Every expected string is rendered by Hugging Face transformers' own chat-template code
(`transformers.utils.chat_template_utils.render_jinja_template`, the function that
`PreTrainedTokenizerBase.apply_chat_template` calls), given the template text directly, so
no hub access is needed. `crates/model/tests/chat_template.rs` checks that hearth's
minijinja renderer gives the same bytes for every case.

Setup (once):

    python3 -m venv /tmp/pyref
    /tmp/pyref/bin/pip install 'transformers==5.23.*' 'jinja2>=3.1.6' gguf numpy

Run from the repository root:

    /tmp/pyref/bin/python scripts/gen-chat-template-fixtures.py

Inputs:
  * SmolLM2's template, read with gguf's GGUFReader from the real model
    models/SmolLM2-135M-Instruct.Q4_1.gguf (key tokenizer.chat_template; the bos/eos
    strings are its tokens at tokenizer.ggml.bos_token_id / eos_token_id);
  * the templates carried by the tokenizer fixture GGUFs (tests/fixtures/tokenizers);
  * hearth's ChatML fallback (must equal `ChatTemplate::chatml().source()`; the test checks);
  * published templates of other Llama-family chat models, stored verbatim as
    tests/fixtures/chat_templates/templates/*.jinja (sources listed in TEMPLATES below).
Each JSON fixture stores its template text, so the Rust test needs neither the model nor
the .jinja files.

Tool schemas passed as extra variables are written with their keys already in sorted
order: Python dicts keep insertion order while hearth's JSON maps are sorted, and the
fixtures are about the template engine, not about key order.
"""

import json
import os
import sys
from pathlib import Path

import jinja2
import transformers
from gguf import GGUFReader
from transformers.utils.chat_template_utils import render_jinja_template

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "chat_templates"
TEMPLATE_DIR = OUT / "templates"

# hearth's fallback when a GGUF has no tokenizer.chat_template: the plain ChatML template,
# verbatim as published with teknium/OpenHermes-2.5-Mistral-7B (also quoted in llama.cpp's
# tests/test-chat-template.cpp). crates/model/src/chat_template.rs holds the same text.
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

OPENVINO = (
    "github.com/openvinotoolkit/openvino.genai @ da1db864d2bc1a265e9a036f5b57ef13f0e86c2c, "
    "tests/python_tests/data/tokenizer_configs.py (a verbatim copy of the model's "
    "tokenizer_config.json chat_template on the Hugging Face hub)"
)
LLAMA_CPP = (
    "; identical to github.com/ggerganov/llama.cpp @ c392e5094deaf2d1a7c18683214f007fad3fe42b, "
    "models/templates/{}"
)

# name -> (bos_token, eos_token, source note); the text is templates/NAME.jinja
TEMPLATES = {
    "tinyllama-1.1b-chat-v1.0": ("<s>", "</s>", f"TinyLlama/TinyLlama-1.1B-Chat-v1.0 (Zephyr format), {OPENVINO}"),
    "llama-2-7b-chat": ("<s>", "</s>", f"meta-llama/Llama-2-7b-chat-hf, {OPENVINO}"),
    "meta-llama-3-8b-instruct": ("<|begin_of_text|>", "<|eot_id|>", f"meta-llama/Meta-Llama-3-8B-Instruct, {OPENVINO}"),
    "llama-3.1-8b-instruct": (
        "<|begin_of_text|>",
        "<|eot_id|>",
        f"meta-llama/Llama-3.1-8B-Instruct, {OPENVINO}" + LLAMA_CPP.format("meta-llama-Llama-3.1-8B-Instruct.jinja"),
    ),
    "llama-3.2-3b-instruct": (
        "<|begin_of_text|>",
        "<|eot_id|>",
        f"meta-llama/Llama-3.2-3B-Instruct, {OPENVINO}" + LLAMA_CPP.format("meta-llama-Llama-3.2-3B-Instruct.jinja"),
    ),
    "mistral-7b-instruct-v0.1": ("<s>", "</s>", f"mistralai/Mistral-7B-Instruct-v0.1, {OPENVINO}"),
    "mistral-7b-instruct-v0.3": ("<s>", "</s>", f"mistralai/Mistral-7B-Instruct-v0.3, {OPENVINO}"),
    "phi-3-mini-4k-instruct": ("<s>", "<|endoftext|>", f"microsoft/Phi-3-mini-4k-instruct, {OPENVINO}"),
    # Qwen2.5 has no bos token (HF leaves bos_token undefined); the template never reads it.
    "qwen2.5-3b-instruct": (
        "",
        "<|im_end|>",
        f"Qwen/Qwen2.5-3B-Instruct, {OPENVINO}" + LLAMA_CPP.format("Qwen-Qwen2.5-7B-Instruct.jinja (7B)"),
    ),
    "hermes-3-llama-3.1-8b-tool-use": (
        "<|begin_of_text|>",
        "<|im_end|>",
        "NousResearch/Hermes-3-Llama-3.1-8B, its tool_use template; identical to github.com/ggerganov/"
        "llama.cpp models/templates/NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
    ),
    "deepseek-r1-distill-llama-8b": (
        "<\uff5cbegin\u2581of\u2581sentence\uff5c>",
        "<\uff5cend\u2581of\u2581sentence\uff5c>",
        f"deepseek-ai/DeepSeek-R1-Distill-Llama-8B, {OPENVINO}"
        + LLAMA_CPP.format("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja"),
    ),
    # hearth's fallback for Gemma vocabularies without a template (Gemma 3 270M's base GGUF);
    # crates/model/src/chat_template/gemma.jinja is the same file.
    "gemma-3-it": (
        "<bos>",
        "<eos>",
        "google/gemma-3-270m-it (and the other Gemma 3 instruction-tuned models), the "
        "chat_template of its tokenizer_config.json",
    ),
}

GGUF_TEMPLATES = {
    "smollm2-135m-instruct": ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "phi-3-gguf-fixture": ROOT / "tests" / "fixtures" / "tokenizers" / "ggml-vocab-phi-3.gguf",
    "qwen2-gguf-fixture": ROOT / "tests" / "fixtures" / "tokenizers" / "ggml-vocab-qwen2.gguf",
}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}

CONVERSATIONS = {
    "system_user": [SYSTEM, {"role": "user", "content": "What is the capital of France?"}],
    "user_only": [{"role": "user", "content": "What is the capital of France?"}],
    "multi_turn": [
        SYSTEM,
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hi! How can I help you today?"},
        {"role": "user", "content": "Tell me a joke."},
    ],
    "multi_turn_no_system": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello. What do you need?"},
        {"role": "user", "content": "Nothing, bye."},
    ],
    "ends_with_assistant": [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4"},
    ],
    "unicode": [
        {
            "role": "user",
            "content": "Ünïcödé: naïve café — 日本語のテキスト, emoji 🦀🔥👩‍💻, עברית, Ελληνικά, "
            "zero\u200bwidth, combining e\u0301, nbsp\u00a0here",
        },
        {"role": "assistant", "content": "Ça va ? 😀 «ok»"},
        {"role": "user", "content": "\u2028line separator and \u00e9"},
    ],
    "whitespace": [
        {"role": "system", "content": "  Be terse.  "},
        {"role": "user", "content": "\n\n  line one\nline two\r\n\tindented\n  \n"},
        {"role": "assistant", "content": "   spaced answer   "},
        {"role": "user", "content": " trailing space "},
    ],
    "jinja_lookalike": [
        {"role": "system", "content": "{% if true %}not a block{% endif %}"},
        {
            "role": "user",
            "content": "{{ 7 * 7 }} {{ raise_exception('boom') }} {% for x in range(3) %}{{ x }}{% endfor %} "
            "{# not a comment #} {%- raw %}{{{{ {% endraw %}",
        },
        {"role": "assistant", "content": "{{ messages }} {{ bos_token }}"},
        {"role": "user", "content": "{% endfor %}{% generation %}"},
    ],
    "quotes_backslashes": [
        {"role": "user", "content": "He said \"hi\" and it's C:\\path\\new \\n not a newline; <b>html</b> & 'single' \\u0041"},
    ],
    "empty_content": [{"role": "user", "content": ""}],
    "think_tags": [
        {"role": "user", "content": "What is 3 * 3?"},
        {"role": "assistant", "content": "<think>3 times 3 is 9.</think>It is 9."},
        {"role": "user", "content": "And 4 * 4?"},
    ],
    "roles_not_alternating": [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
    ],
    "assistant_first": [
        {"role": "assistant", "content": "I speak first."},
        {"role": "user", "content": "Fine."},
    ],
}

# A tool schema with every JSON type, keys in sorted order at every level (see the docstring).
WEATHER_TOOL = {
    "function": {
        "description": 'Get the weather in a city. Say "celsius" unless asked — ünïcode, <tags> & \\ ok.',
        "name": "get_weather",
        "parameters": {
            "additionalProperties": False,
            "properties": {
                "city": {"description": "City name, e.g. Paris", "type": "string"},
                "days": {"examples": [1e20, 0.1, -0.0, 10000000000, 2.5e-07], "maximum": 7.5, "minimum": 1, "type": "integer"},
                "unit": {"default": None, "enum": ["celsius", "fahrenheit"], "type": "string"},
            },
            "required": ["city"],
            "type": "object",
        },
    },
    "type": "function",
}

# Tool-use turns as OpenAI clients send them (an assistant turn of calls has content None,
# a call's arguments are a JSON string; ids of 9 letters and digits, which Mistral's
# template insists on). They are rendered with `hf_messages`, the shape transformers
# documents for tool use (arguments a dict), which hearth's renderer makes itself.
def _call(id, city):
    return {"function": {"arguments": json.dumps({"city": city, "unit": "celsius"}), "name": "get_weather"}, "id": id, "type": "function"}


TOOL_CONVERSATIONS = {
    "tool_result": [
        SYSTEM,
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("Xq3fK9pLm", "Paris")]},
        {"role": "tool", "tool_call_id": "Xq3fK9pLm", "name": "get_weather", "content": '{"temperature": 21, "unit": "celsius"}'},
    ],
    "tool_then_answer": [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("Xq3fK9pLm", "Paris")]},
        {"role": "tool", "tool_call_id": "Xq3fK9pLm", "name": "get_weather", "content": "21 degrees"},
        {"role": "assistant", "content": "It is 21 °C in Paris."},
        {"role": "user", "content": "And in London?"},
    ],
    "two_calls": [
        {"role": "user", "content": "Weather in Paris and London?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("Xq3fK9pLm", "Paris"), _call("B7wZ2kQ1r", "London")]},
        {"role": "tool", "tool_call_id": "Xq3fK9pLm", "name": "get_weather", "content": "21 degrees"},
        {"role": "tool", "tool_call_id": "B7wZ2kQ1r", "name": "get_weather", "content": "15 degrees"},
    ],
}


def hf_messages(messages):
    """OpenAI-shape messages in the shape transformers documents for tool use."""
    out = []
    for m in messages:
        m = dict(m)
        if "tool_calls" in m:
            calls = []
            for c in m["tool_calls"]:
                c = dict(c, function=dict(c["function"]))
                args = c["function"]["arguments"]
                try:
                    parsed = json.loads(args)
                    if isinstance(parsed, dict):
                        c["function"]["arguments"] = parsed
                except ValueError:
                    pass
                calls.append(c)
            m["tool_calls"] = calls
        out.append(m)
    return out


TOOL_TURNS = ["tool_result", "tool_then_answer", "two_calls"]

# Extra template variables (HF's apply_chat_template **kwargs and tools=) for some templates.
EXTRA_CASES = {
    "llama-3.1-8b-instruct": [
        ("tools_in_user_message", ["system_user", "multi_turn"], {"tools": [WEATHER_TOOL]}),
        ("tools_in_system", ["system_user"], {"tools": [WEATHER_TOOL], "tools_in_user_message": False}),
        ("date_string", ["user_only"], {"date_string": "01 Jan 2030"}),
        ("tools", TOOL_TURNS, {"tools": [WEATHER_TOOL], "date_string": "26 Jul 2024"}),
    ],
    "llama-3.2-3b-instruct": [
        ("tools", ["multi_turn"], {"tools": [WEATHER_TOOL], "date_string": "26 Jul 2024"}),
    ],
    "qwen2.5-3b-instruct": [
        ("tools", ["system_user", "user_only"] + TOOL_TURNS, {"tools": [WEATHER_TOOL]}),
    ],
    "mistral-7b-instruct-v0.3": [("tools", ["multi_turn_no_system"] + TOOL_TURNS, {"tools": [WEATHER_TOOL]})],
    "hermes-3-llama-3.1-8b-tool-use": [("tools", ["system_user", "user_only"] + TOOL_TURNS, {"tools": [WEATHER_TOOL]})],
}


# Variables every case of a template gets: Llama 3.2 would otherwise print today's date
# (strftime_now), which no fixture can hold.
DEFAULT_EXTRA = {"llama-3.2-3b-instruct": {"date_string": "26 Jul 2024"}}


def gguf_template(path):
    reader = GGUFReader(str(path))
    template = reader.fields["tokenizer.chat_template"].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    bos = tokens[reader.fields["tokenizer.ggml.bos_token_id"].contents()]
    eos = tokens[reader.fields["tokenizer.ggml.eos_token_id"].contents()]
    return template, bos, eos


def render(template, messages, add_generation_prompt, bos, eos, extra):
    """What apply_chat_template(tokenize=False) returns, or the error it raises."""
    kwargs = dict(extra)
    tools = kwargs.pop("tools", None)
    try:
        rendered, _ = render_jinja_template(
            conversations=[hf_messages(messages)],
            tools=tools,
            documents=None,
            chat_template=template,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos,
            eos_token=eos,
            **kwargs,
        )
        return {"expected": rendered[0]}
    except jinja2.exceptions.TemplateError as e:
        return {"error": str(e)}
    except Exception as e:  # e.g. a TypeError from the template's own arithmetic
        return {"error": f"{type(e).__name__}: {e}"}


# Templates made for tool use only (they iterate `tools`, so without tools they raise a
# Python TypeError): only their tool cases are rendered.
TOOLS_ONLY = {"hermes-3-llama-3.1-8b-tool-use"}


def cases_for(name, template, bos, eos):
    cases = []
    default_extra = DEFAULT_EXTRA.get(name, {})
    for conv_name, messages in CONVERSATIONS.items():
        if name in TOOLS_ONLY:
            break
        for agp in (False, True):
            case = {"name": f"{conv_name}/agp={agp}", "messages": messages, "add_generation_prompt": agp}
            if default_extra:
                case["extra"] = default_extra
            case.update(render(template, messages, agp, bos, eos, default_extra))
            cases.append(case)
    for extra_name, conv_names, extra in EXTRA_CASES.get(name, []):
        for conv_name in conv_names:
            messages = CONVERSATIONS.get(conv_name) or TOOL_CONVERSATIONS[conv_name]
            for agp in (False, True):
                case = {
                    "name": f"{conv_name}+{extra_name}/agp={agp}",
                    "messages": messages,
                    "add_generation_prompt": agp,
                    "extra": extra,
                }
                case.update(render(template, messages, agp, bos, eos, extra))
                cases.append(case)
    return cases


def write(name, source, template, bos, eos):
    fixture = {
        "name": name,
        "source": source,
        "generator": f"scripts/gen-chat-template-fixtures.py, transformers {transformers.__version__}, "
        f"jinja2 {jinja2.__version__}",
        "bos_token": bos,
        "eos_token": eos,
        "template": template,
        "cases": cases_for(name, template, bos, eos),
    }
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    n_err = sum("error" in c for c in fixture["cases"])
    print(f"{path.relative_to(ROOT)}: {len(fixture['cases'])} cases ({n_err} raise)")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, path in GGUF_TEMPLATES.items():
        template, bos, eos = gguf_template(path)
        rel = path.relative_to(ROOT)
        write(name, f"tokenizer.chat_template of {rel} (read with gguf.GGUFReader)", template, bos, eos)
    write(
        "chatml",
        "hearth's fallback template (ChatTemplate::chatml), the ChatML template of "
        "teknium/OpenHermes-2.5-Mistral-7B as quoted in llama.cpp tests/test-chat-template.cpp",
        CHATML,
        "<s>",
        "</s>",
    )
    for name, (bos, eos, source) in TEMPLATES.items():
        template = (TEMPLATE_DIR / f"{name}.jinja").read_bytes().decode("utf-8")
        write(name, source, template, bos, eos)


if __name__ == "__main__":
    sys.exit(main())
