//! Byte-level BPE (`tokenizer.ggml.model = "gpt2"`): the `tokenizers` crate's BPE model
//! over the GGUF's vocabulary and ranked merges, behind the pre-tokenizer that
//! `tokenizer.ggml.pre` names.

use hearth_gguf::Metadata;
use tokenizers::models::ModelWrapper;
use tokenizers::models::bpe::{BPE, Merges, Vocab as BpeVocab};

use super::pretokenizer::PreSpec;
use super::vocab::{Vocab, tok_err};
use crate::Result;

/// Builds the `tokenizers` pipeline of a byte-level BPE vocab.
pub(crate) fn build(
    vocab: &Vocab,
    spec: &PreSpec,
    meta: &Metadata,
) -> Result<tokenizers::Tokenizer> {
    let map: BpeVocab = vocab
        .texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let raw = meta
        .strings("tokenizer.ggml.merges")?
        .ok_or_else(|| tok_err("no tokenizer.ggml.merges in a BPE vocab"))?;
    let merges = parse_merges(&raw, &map);

    let bpe = BPE::builder()
        .vocab_and_merges(map, merges)
        .ignore_merges(spec.ignore_merges)
        .build()
        .map_err(|e| tok_err(format!("BPE model: {e}")))?;
    let mut tok = tokenizers::Tokenizer::new(ModelWrapper::BPE(bpe));
    tok.with_pre_tokenizer(Some(spec.build()?));
    Ok(tok)
}

/// Parses "left right" merges in rank order. As in llama.cpp the separator is the
/// first space after the first byte, and the first of duplicate pairs keeps its rank.
/// Merges whose parts or result are not tokens are dropped: they could only produce
/// text that falls back to single bytes.
fn parse_merges(raw: &[&str], map: &BpeVocab) -> Merges {
    let mut seen = std::collections::HashSet::with_capacity(raw.len());
    let mut merges = Vec::with_capacity(raw.len());
    for line in raw {
        let Some(pos) = line.bytes().skip(1).position(|b| b == b' ').map(|p| p + 1) else {
            continue;
        };
        let (left, right) = (&line[..pos], &line[pos + 1..]);
        let whole = format!("{left}{right}");
        if !map.contains_key(left) || !map.contains_key(right) || !map.contains_key(&whole) {
            continue;
        }
        if seen.insert((left, right)) {
            merges.push((left.to_string(), right.to_string()));
        }
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_split_at_the_first_space_after_the_first_byte() {
        let map: BpeVocab = [("a", 0), ("b", 1), ("ab", 2), (" ", 3), ("  ", 4)]
            .into_iter()
            .map(|(t, i)| (t.to_string(), i))
            .collect();
        // "  " splits into " " and "" (no such token); "   " into " " and " ".
        let merges = parse_merges(&["a b", "a b", "  ", "   ", "x y", "nospace"], &map);
        assert_eq!(
            merges,
            vec![("a".into(), "b".into()), (" ".into(), " ".into())]
        );
    }
}
