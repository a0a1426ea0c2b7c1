//! hearth-protocol: what crosses between hearth's page, its engine Worker and their
//! callers, declared once. Requests in the OpenAI client's names ([`Request`],
//! [`Message`]), the answers shaped as OpenAI's objects ([`openai`]), the Worker's messages
//! ([`worker`]), those between the tabs that share one engine ([`tabs`]) and the sampling fields with their defaults ([`sampling`]). Small on
//! purpose (serde only): both wasm modules, the page's UI and the Worker's engine, use it.
//! `web/src/protocol.d.ts` and `web/src/sampling.js` are generated from it (see
//! [`generated`]); a test fails when they are out of date.

pub mod adapter;
pub mod generated;
mod message;
pub mod openai;
mod request;
pub mod sampling;
pub mod tabs;
pub mod worker;

pub use message::Message;
pub use request::{Prompt, Request, Stops};
