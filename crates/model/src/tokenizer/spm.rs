//! SentencePiece BPE (`tokenizer.ggml.model = "llama"`) on the `tokenizers` crate's BPE
//! model. A SentencePiece vocab has scores instead of merges: llama.cpp repeatedly
//! joins the adjacent pair whose joined text is the highest-scoring token. The same
//! order comes out of a BPE model whose merges are every (left, right) split of every
//! token, ranked by the joined token's score — as Hugging Face's converter builds
//! them. Characters that are not tokens fall back to `<0xXX>` byte tokens.

use tokenizers::models::ModelWrapper;
use tokenizers::models::bpe::{BPE, Merges, Vocab as BpeVocab};
use tokenizers::normalizers::{NormalizerWrapper, Replace};

use super::vocab::{Vocab, tok_err};
use crate::Result;

/// The escaped space of SentencePiece (U+2581).
pub(crate) const SPACE: &str = "\u{2581}";

/// Builds the `tokenizers` pipeline of a SentencePiece vocab: spaces become "▁", and
/// the whole fragment is one word for the BPE model.
pub(crate) fn build(vocab: &Vocab) -> Result<tokenizers::Tokenizer> {
    let map: BpeVocab = vocab
        .texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let merges = merges_from_scores(vocab, &map);
    let mut builder = BPE::builder()
        .vocab_and_merges(map, merges)
        .byte_fallback(true);
    if let Some(unk) = vocab.unk {
        builder = builder.unk_token(vocab.texts[unk as usize].clone());
    }
    let bpe = builder
        .build()
        .map_err(|e| tok_err(format!("SentencePiece model: {e}")))?;
    let escape = Replace::new(" ", SPACE).map_err(|e| tok_err(format!("normalizer: {e}")))?;
    let mut tok = tokenizers::Tokenizer::new(ModelWrapper::BPE(bpe));
    tok.with_normalizer(Some(NormalizerWrapper::Replace(escape)));
    Ok(tok)
}

/// Every split of every token into two tokens, best joined score first; ties go to
/// the lower token id, then the lower ids of the parts.
fn merges_from_scores(vocab: &Vocab, map: &BpeVocab) -> Merges {
    let mut found: Vec<(f32, u32, u32, u32, usize)> = Vec::new();
    for (id, text) in vocab.texts.iter().enumerate() {
        // Only the id the text maps to can be produced (a duplicate text loses).
        if map.get(text) != Some(&(id as u32)) {
            continue;
        }
        for (cut, _) in text.char_indices().skip(1) {
            let (l, r) = text.split_at(cut);
            if let (Some(&li), Some(&ri)) = (map.get(l), map.get(r)) {
                found.push((vocab.scores[id], id as u32, li, ri, cut));
            }
        }
    }
    found.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    found
        .into_iter()
        .map(|(_, id, _, _, cut)| {
            let (l, r) = vocab.texts[id as usize].split_at(cut);
            (l.to_string(), r.to_string())
        })
        .collect()
}
