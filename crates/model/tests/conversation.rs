//! The conversation layer the CLI and the web engine share, on the f32 reference: a turn
//! that repeats the earlier turns reuses the context and gives the ids a fresh context
//! gives (the reference being `generate` over a fresh cache), and every finish reason.

mod common;

use common::fixture;
use hearth_model::conversation::{Context, Conversation, Finish, RefContext};
use hearth_model::sampler::{Sampler, SamplerConfig};
use hearth_model::{Guide, Model, StopRule, generate};

fn greedy() -> Sampler {
    Sampler::new(SamplerConfig {
        temperature: 0.0,
        ..SamplerConfig::default()
    })
    .unwrap()
}

fn stop(max_tokens: usize, eog: Vec<u32>) -> StopRule {
    StopRule {
        max_tokens,
        eog,
        ignore_eos: false,
    }
}

/// Greedy ids after `prompt` in a fresh cache, by the plain decode loop.
fn fresh(model: &Model, prompt: &[u32], max_tokens: usize) -> Vec<u32> {
    let mut cache = model.new_cache(64);
    pollster::block_on(generate(
        prompt,
        &mut greedy(),
        &stop(max_tokens, vec![]),
        Guide::default(),
        |t| std::future::ready(model.forward_last(t, &mut cache)),
        |_| Ok(true),
    ))
    .unwrap()
}

/// A greedy turn of `n` ids at most in `conv` over `ctx`.
fn run(
    conv: &mut Conversation,
    ctx: &mut RefContext,
    p: &[u32],
    n: usize,
) -> hearth_model::conversation::Answer {
    pollster::block_on(conv.run(
        ctx,
        p,
        &mut greedy(),
        &stop(n, vec![]),
        Guide::default(),
        |_| Ok(true),
    ))
    .unwrap()
}

#[test]
fn a_later_turn_reuses_the_context_and_matches_a_fresh_one() {
    let model = Model::load(&fixture("reference/tiny-llama3.gguf")).unwrap();
    let mut ctx = RefContext::new(&model, 64);
    let mut conv = Conversation::new();
    let p1 = [5u32, 17, 250, 3, 99];
    let a1 = run(&mut conv, &mut ctx, &p1, 6);
    assert_eq!(a1.ids, fresh(&model, &p1, 6));
    assert_eq!((a1.prompt_tokens, a1.reused_tokens), (5, 0));
    assert_eq!(a1.finish, Finish::Length);

    // the next turn: the first, its answer, and new tokens
    let p2: Vec<u32> = p1.iter().chain(&a1.ids).chain(&[42, 7]).copied().collect();
    let a2 = run(&mut conv, &mut ctx, &p2, 5);
    assert_eq!(
        a2.ids,
        fresh(&model, &p2, 5),
        "a reused prefix changes nothing"
    );
    // every id the context ran: the prompt and the answer but its last id
    assert_eq!(a2.reused_tokens, p1.len() + a1.ids.len() - 1);

    // an edit of an earlier turn rewinds to the shared prefix
    let mut p3 = p2.clone();
    p3[2] = 1;
    let a3 = run(&mut conv, &mut ctx, &p3, 4);
    assert_eq!(a3.reused_tokens, 2);
    assert_eq!(a3.ids, fresh(&model, &p3, 4));

    // the same prompt again runs its last token again and answers the same
    let a4 = run(&mut conv, &mut ctx, &p3, 4);
    assert_eq!(a4.reused_tokens, p3.len() - 1);
    assert_eq!(a4.ids, a3.ids);

    // a reset forgets the context
    conv.reset(&mut ctx);
    assert!(ctx.is_empty());
    assert_eq!(run(&mut conv, &mut ctx, &p3, 4).reused_tokens, 0);
}

#[test]
fn finish_reasons_and_limits() {
    let model = Model::load(&fixture("reference/tiny-llama3.gguf")).unwrap();
    let prompt = [5u32, 17, 250];
    let first = fresh(&model, &prompt, 3);
    let mut ctx = RefContext::new(&model, 16);
    let mut conv = Conversation::new();

    // an end-of-generation id ends it, unseen
    let eog = stop(10, vec![first[1]]);
    let a = pollster::block_on(conv.run(
        &mut ctx,
        &prompt,
        &mut greedy(),
        &eog,
        Guide::default(),
        |_| Ok(true),
    ));
    let a = a.unwrap();
    let before: Vec<u32> = first
        .iter()
        .copied()
        .take_while(|&t| t != first[1])
        .collect();
    assert_eq!((a.ids, a.finish), (before, Finish::Stop));

    // on_token returning false aborts after that token
    let a = pollster::block_on(conv.run(
        &mut ctx,
        &prompt,
        &mut greedy(),
        &stop(10, vec![]),
        Guide::default(),
        |_| Ok(false),
    ))
    .unwrap();
    assert_eq!((a.ids.as_slice(), a.finish), (&first[..1], Finish::Abort));

    // max_tokens is capped at the room the context has left (16 - 3)
    let a = pollster::block_on(conv.run(
        &mut ctx,
        &prompt,
        &mut greedy(),
        &stop(usize::MAX, vec![]),
        Guide::default(),
        |_| Ok(true),
    ))
    .unwrap();
    assert_eq!((a.ids.len(), a.finish), (13, Finish::Length));

    // a prompt that leaves no room, and an empty one, are errors
    let long = vec![1u32; 16];
    let never = |_| -> hearth_model::Result<bool> { panic!("nothing is generated") };
    let err = pollster::block_on(conv.run(
        &mut ctx,
        &long,
        &mut greedy(),
        &eog,
        Guide::default(),
        never,
    ));
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("the context holds 16")
    );
    let err =
        pollster::block_on(conv.run(&mut ctx, &[], &mut greedy(), &eog, Guide::default(), never));
    assert!(err.unwrap_err().to_string().contains("empty"));

    // a failing step (an id outside the vocabulary) is an error and clears the context
    let err = pollster::block_on(conv.run(
        &mut ctx,
        &[1, 400],
        &mut greedy(),
        &eog,
        Guide::default(),
        never,
    ));
    assert!(err.unwrap_err().to_string().contains("vocabulary"));
    assert!(ctx.is_empty());
}

/// A conversation's keys and values kept as snapshot bytes (in two spans) and put back
/// into a fresh context: the next turn reuses them (prefilling only its new ids) and gives
/// the ids a fresh context gives; bytes that do not fit are refused and change nothing.
#[test]
fn a_restored_snapshot_serves_the_next_turn_as_a_fresh_context_would() {
    use hearth_model::kv_snapshot::KvSnapshot;
    let model = Model::load(&fixture("reference/tiny-llama3.gguf")).unwrap();
    let mut ctx = RefContext::new(&model, 64);
    let mut conv = Conversation::new();
    let p1 = [5u32, 17, 250, 3, 99, 12, 8];
    let a1 = run(&mut conv, &mut ctx, &p1, 6);
    let held = conv.held().to_vec();
    assert_eq!(held.len(), p1.len() + a1.ids.len() - 1);
    let (head_ids, head) = pollster::block_on(conv.snapshot(&mut ctx, 0)).unwrap();
    assert_eq!(head_ids, held);
    assert_eq!(head.len(), held.len() * ctx.position_bytes());

    // a fresh context takes it back in two spans, exported apart: positions 0..4, the rest
    let first = pollster::block_on(ctx.export_kv(0, 4)).unwrap();
    let (rest_ids, rest) = pollster::block_on(conv.snapshot(&mut ctx, 4)).unwrap();
    assert_eq!(rest_ids, held[4..]);
    let mut ctx2 = RefContext::new(&model, 64);
    let mut conv2 = Conversation::new();
    conv2.restore(&mut ctx2, 0, &held[..4], &first).unwrap();
    conv2.restore(&mut ctx2, 4, &rest_ids, &rest).unwrap();
    assert_eq!((conv2.held(), ctx2.len()), (held.as_slice(), held.len()));

    let p2: Vec<u32> = p1.iter().chain(&a1.ids).chain(&[42, 7]).copied().collect();
    let a2 = run(&mut conv2, &mut ctx2, &p2, 5);
    assert_eq!(a2.reused_tokens, held.len(), "only the new ids ran");
    assert_eq!(a2.ids, fresh(&model, &p2, 5));

    // refused: a partial position, ids that do not match, a span past what is held
    let mut ctx3 = RefContext::new(&model, 64);
    let mut conv3 = Conversation::new();
    assert!(
        conv3
            .restore(&mut ctx3, 0, &held, &head[..head.len() - 4])
            .is_err()
    );
    assert!(conv3.restore(&mut ctx3, 0, &held[..3], &head).is_err());
    assert!(pollster::block_on(conv3.snapshot(&mut ctx3, 1)).is_err());
    assert_eq!((conv3.held().len(), ctx3.len()), (0, 0));
    // and a context too small for it
    let mut small = RefContext::new(&model, 4);
    assert!(
        Conversation::new()
            .restore(&mut small, 0, &held, &head)
            .is_err()
    );
}
