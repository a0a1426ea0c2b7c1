//! GBNF (llama.cpp's grammar format, which wllama takes) rewritten as llguidance's Lark:
//! `name ::= …` rules become `name: …` on one line each (a GBNF rule may run over several
//! lines; a Lark rule ends at its line), names lowercased with `-` as `_` behind a `g_`
//! prefix (so none is a Lark terminal or keyword), `root` the start, character classes
//! `[…]` as regex literals `/[…]/`; strings, groups, `| * + ?` and `{m,n}` carry over.
//! Comments (`#` to the end of the line) are dropped.

use crate::{ModelError, Result};

/// Whether `text` reads as GBNF rather than Lark: it defines a rule with `::=`.
pub fn is_gbnf(text: &str) -> bool {
    text.contains("::=")
}

/// The Lark grammar of the GBNF `text`; a malformed one is an error naming the problem.
pub fn to_lark(text: &str) -> Result<String> {
    let bad = |what: String| Err(ModelError::Request(format!("GBNF grammar: {what}")));
    let tokens = lex(text)?;
    // rules: a name followed by ::= starts one
    let mut rules: Vec<(String, Vec<String>)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match (&tokens[i], tokens.get(i + 1)) {
            (Tok::Name(n), Some(Tok::Define)) => {
                rules.push((n.clone(), Vec::new()));
                i += 2;
            }
            (t, _) => {
                let Some((_, body)) = rules.last_mut() else {
                    return bad(format!("{} before the first rule", t.text()));
                };
                match t {
                    Tok::Name(n) => body.push(rule_name(n)),
                    Tok::Define => return bad("::= without a rule name".into()),
                    // postfix operators stick to what they repeat
                    Tok::Op(o) if o != "(" && o != ")" && o != "|" => match body.last_mut() {
                        Some(last) => last.push_str(o),
                        None => return bad(format!("{o} with nothing to repeat")),
                    },
                    other => body.push(other.text()),
                }
                i += 1;
            }
        }
    }
    if !rules.iter().any(|(n, _)| n == "root") {
        return bad("no `root` rule".into());
    }
    for (name, body) in &rules {
        if body.is_empty() {
            return bad(format!("rule {name} is empty"));
        }
    }
    let mut out = String::from("start: g_root\n");
    for (name, body) in rules {
        out.push_str(&rule_name(&name));
        out.push_str(": ");
        out.push_str(&body.join(" "));
        out.push('\n');
    }
    Ok(out)
}

fn rule_name(n: &str) -> String {
    format!("g_{}", n.to_ascii_lowercase().replace('-', "_"))
}

/// One GBNF token.
#[derive(Debug, PartialEq)]
enum Tok {
    Name(String),
    Define,
    /// A string literal, as written (quotes and escapes kept: Lark reads them alike).
    Literal(String),
    /// A character class, its text without the brackets.
    Class(String),
    /// `( ) | * + ?` or a `{m,n}` repetition.
    Op(String),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Name(n) => n.clone(),
            Tok::Define => "::=".into(),
            Tok::Literal(s) => s.clone(),
            Tok::Class(c) => format!("/[{}]/", c.replace('/', "\\/")),
            Tok::Op(o) => o.clone(),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Tok>> {
    let bad = |what: String| Err(ModelError::Request(format!("GBNF grammar: {what}")));
    let cs: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // the text from `start` up to the unescaped `close`, escapes kept
    let delimited = |start: usize, close: char| -> Option<usize> {
        let mut j = start;
        while j < cs.len() {
            match cs[j] {
                '\\' => j += 2,
                c if c == close => return Some(j),
                _ => j += 1,
            }
        }
        None
    };
    while i < cs.len() {
        let c = cs[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < cs.len() && cs[i] != '\n' {
                    i += 1;
                }
            }
            ':' if cs[i..].starts_with(&[':', ':', '=']) => {
                out.push(Tok::Define);
                i += 3;
            }
            '"' => {
                let Some(end) = delimited(i + 1, '"') else {
                    return bad("a string without its closing quote".into());
                };
                out.push(Tok::Literal(cs[i..=end].iter().collect()));
                i = end + 1;
            }
            '[' => {
                let Some(end) = delimited(i + 1, ']') else {
                    return bad("a character class without its `]`".into());
                };
                out.push(Tok::Class(cs[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '{' => {
                let Some(end) = delimited(i + 1, '}') else {
                    return bad("a repetition without its `}`".into());
                };
                let inner: String = cs[i + 1..end]
                    .iter()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_digit() || c == ',') {
                    return bad(format!("a repetition {{{inner}}}"));
                }
                out.push(Tok::Op(format!("{{{inner}}}")));
                i = end + 1;
            }
            '(' | ')' | '|' | '*' | '+' | '?' => {
                out.push(Tok::Op(c.to_string()));
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => {
                let start = i;
                while i < cs.len()
                    && (cs[i].is_ascii_alphanumeric() || cs[i] == '-' || cs[i] == '_')
                {
                    i += 1;
                }
                out.push(Tok::Name(cs[start..i].iter().collect()));
            }
            other => return bad(format!("unexpected {other:?}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_over_lines_classes_and_repeats() {
        let g = r#"
# a list of words
root ::= "[" ws item ("," ws item){0,3} "]"   # bounded
item ::= [a-z]+ | "\"" [^"\\]* "\""
ws   ::=
  [ \t]?
"#;
        let lark = to_lark(g).unwrap();
        assert_eq!(
            lark,
            "start: g_root\n\
             g_root: \"[\" g_ws g_item ( \",\" g_ws g_item ){0,3} \"]\"\n\
             g_item: /[a-z]/+ | \"\\\"\" /[^\"\\\\]/* \"\\\"\"\n\
             g_ws: /[ \\t]/?\n"
        );
        assert!(is_gbnf(g) && !is_gbnf(&lark));
    }

    #[test]
    fn malformed_grammars_are_errors() {
        for g in [
            "item ::= \"a\"",
            "root ::= \"a",
            "root ::= [a-",
            "\"a\" root ::= x",
            "root ::=",
        ] {
            let e = to_lark(g).unwrap_err().to_string();
            assert!(e.starts_with("GBNF grammar:"), "{g}: {e}");
        }
    }
}
