//! The messages between the engine instances of one origin that share a loaded model
//! (`web/src/tabs.js`), over a `BroadcastChannel` named after the model and its load
//! options. One instance, the owner, holds the Web Lock of that name and runs the Worker;
//! the others send it [`ToWorker`] messages and get its Worker's [`FromWorker`] replies.
//! Every instance has an id (a random UUID); a message names its sender (`from`) and,
//! when it is for one instance only, that one (`to`).

use serde::Deserialize;
use serde_json::Value;

use crate::worker::{FromWorker, Progress, ToWorker};

/// A message on the shared channel.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TabMessage {
    /// A new instance asks for the owner; a loaded owner answers with `ready`.
    Hello { from: String },
    /// The owner's model is loaded (after a `hello`, and once when a new owner has
    /// loaded it): the facts it loaded with (`EngineInfo`). A `ready` from another owner
    /// than before tells the others to send their unanswered requests again.
    Ready {
        from: String,
        #[cfg_attr(test, ts(type = "EngineInfo"))]
        info: Value,
    },
    /// How far the owner's load is.
    Progress { from: String, progress: Progress },
    /// The owner's load failed; `name` is the error's.
    Failed {
        from: String,
        message: String,
        #[serde(default)]
        #[cfg_attr(test, ts(optional))]
        name: Option<String>,
    },
    /// A request from `from` for the owner `to`'s Worker (its id the sender's own).
    Call {
        from: String,
        to: String,
        call: Box<ToWorker>,
    },
    /// What the owner's Worker sent for request `reply.id` of instance `to`.
    Reply { to: String, reply: FromWorker },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes tabs.js posts parse as declared.
    #[test]
    fn tabs_js_messages_parse() {
        let call = r#"{"type":"call","from":"a","to":"b","call":{"type":"chat","id":3,"tab":"a","request":{"messages":[{"role":"user","content":"Hi"}],"stream":true}}}"#;
        let TabMessage::Call { from, to, call } = serde_json::from_str(call).unwrap() else {
            panic!("a call")
        };
        assert_eq!((from.as_str(), to.as_str()), ("a", "b"));
        assert!(matches!(*call, ToWorker::Chat { id: 3, tab: Some(t), .. } if t == "a"));
        let reply =
            r#"{"type":"reply","to":"a","reply":{"type":"waiting","id":3,"other_tab":true}}"#;
        assert!(matches!(
            serde_json::from_str(reply).unwrap(),
            TabMessage::Reply {
                reply: FromWorker::Waiting {
                    id: 3,
                    other_tab: true
                },
                ..
            }
        ));
        let ready = r#"{"type":"ready","from":"b","info":{"name":"SmolLM2"}}"#;
        assert!(matches!(
            serde_json::from_str(ready).unwrap(),
            TabMessage::Ready { .. }
        ));
        let progress = r#"{"type":"progress","from":"b","progress":{"phase":"load","loaded":1,"total":2,"rate":0}}"#;
        assert!(matches!(
            serde_json::from_str(progress).unwrap(),
            TabMessage::Progress { .. }
        ));
        assert!(serde_json::from_str::<TabMessage>(r#"{"type":"call","from":"a"}"#).is_err());
    }
}
