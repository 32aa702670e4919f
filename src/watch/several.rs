//! Several pollers, one per source, driven as one: each keeps its own client,
//! budget, schedule and backoff; their messages arrive on one channel tagged
//! with the source's number, and commands go to all of them or to one. The
//! channel is bounded, so an app that falls behind holds up the forwarders,
//! whose pollers' page queues then fill and their sweeps wait (see `queue`).
//!
//! ```text
//!  poller 0 ──Message──► forward ──(0, Message)──┐
//!  poller 1 ──Message──► forward ──(1, Message)──┴──► messages
//! ```
//!
//! A poller whose task dies (a panic) while nbwatch still listens would
//! otherwise just fall silent, its rows ageing with nothing said: its forwarder
//! sees the messages end and reports it as a failure with no retry (see
//! [`died`]), so that source shows as failed while the others run on.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Control, Message, PollerConfig, Source, Stats, spawn};
use crate::api::ApiError;

/// The running pollers.
pub struct Pollers {
    /// Every poller's messages, with the number of the source it polls.
    pub messages: mpsc::Receiver<(u16, Message)>,
    commands: Vec<mpsc::UnboundedSender<Control>>,
}

/// Starts one poller per source, numbered in the order given. A poller ends
/// when [`Pollers`] is dropped (its command sender goes with it).
pub fn spawn_all(sources: Vec<(Arc<dyn Source>, PollerConfig)>) -> Pollers {
    let (tx, rx) = mpsc::channel(super::MAX_QUEUED_PAGES);
    let mut commands = Vec::with_capacity(sources.len());
    for (n, (source, cfg)) in sources.into_iter().enumerate() {
        let n = u16::try_from(n).unwrap_or(u16::MAX);
        let mut handle = spawn(source, cfg);
        commands.push(handle.commands);
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(m) = handle.messages.recv().await {
                if tx.send((n, m)).await.is_err() {
                    return;
                }
            }
            // A poller ends only once its commands are dropped, and they go
            // with the receiver: still listened to, it died.
            if tx.is_closed() {
                return;
            }
            let why = match handle.task.await {
                Err(e) if e.is_panic() => {
                    let payload = e.into_panic();
                    let text = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".into());
                    format!("it panicked: {text}")
                }
                Err(_) => "it was cancelled".into(),
                Ok(()) => "it ended".into(),
            };
            tracing::error!(source = n, "the poller stopped: {why}");
            let _ = tx.send((n, died(&why))).await;
        });
    }
    Pollers {
        messages: rx,
        commands,
    }
}

/// What a poller that died says: a failure with no next try (`next_in: None`,
/// "polling stopped", like a 401 but not one), whose message says why and what
/// to do.
pub fn died(why: &str) -> Message {
    Message::Failed {
        error: ApiError::Request(format!(
            "{POLLER_STOPPED}: {why}; nothing polls this source any more: restart nbwatch, and report the bug with the log file"
        )),
        consecutive: 1,
        next_in: None,
        stats: Stats::default(),
    }
}

/// How a dead poller's failure begins.
pub const POLLER_STOPPED: &str = "the poller of this source stopped";

impl Pollers {
    /// How many sources are polled.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The same command to every poller.
    pub fn send_all(&self, c: &Control) {
        for tx in &self.commands {
            let _ = tx.send(c.clone());
        }
    }

    /// A command to the poller of one source.
    pub fn send(&self, source: u16, c: Control) {
        if let Some(tx) = self.commands.get(usize::from(source)) {
            let _ = tx.send(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ApiError, Listing};
    use crate::watch::PageSender;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A source that lists `n` instances, or fails when `n` is `None`.
    struct Fixed(Option<i64>, AtomicU64);

    impl Source for Fixed {
        fn fetch<'a>(
            &'a self,
            _pages: &'a PageSender,
            _pace: Option<u32>,
        ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            let n = self.0;
            Box::pin(async move {
                match n {
                    Some(total) => Ok(Listing {
                        notebooks: Vec::new(),
                        total: Some(total),
                        requests: 1,
                        passes: 1,
                        complete: true,
                    }),
                    None => Err(ApiError::Request("refused".into())),
                }
            })
        }

        fn requests_sent(&self) -> u64 {
            self.1.load(Ordering::SeqCst)
        }
    }

    /// A source whose poll panics.
    struct Panics;

    impl Source for Panics {
        fn fetch<'a>(
            &'a self,
            _pages: &'a PageSender,
            _pace: Option<u32>,
        ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
            Box::pin(async { panic!("a bug in the poller") })
        }

        fn requests_sent(&self) -> u64 {
            0
        }
    }

    #[tokio::test]
    async fn a_poller_that_dies_is_reported_failed_and_the_others_run_on() {
        let ok = Arc::new(Fixed(Some(3), AtomicU64::new(0)));
        let cfg = PollerConfig {
            interval: std::time::Duration::from_millis(20),
            ..PollerConfig::default()
        };
        let mut p = spawn_all(vec![
            (ok.clone() as Arc<dyn Source>, cfg.clone()),
            (Arc::new(Panics) as Arc<dyn Source>, cfg),
        ]);
        let mut death = None;
        let mut snapshots_after = 0;
        while snapshots_after < 2 {
            match p.messages.recv().await {
                Some((1, Message::Failed { error, next_in, .. })) => {
                    assert!(death.is_none(), "said once");
                    assert_eq!(next_in, None, "nothing will poll it again");
                    death = Some(error.message());
                }
                Some((0, Message::Snapshot { .. })) if death.is_some() => snapshots_after += 1,
                Some((1, m)) if !matches!(m, Message::Started) => panic!("{m:?}"),
                Some(_) => {}
                None => panic!("the pollers stopped"),
            }
        }
        let said = death.unwrap_or_default();
        assert!(said.starts_with(POLLER_STOPPED), "{said}");
        assert!(said.contains("it panicked: a bug in the poller"), "{said}");
        assert!(said.contains("restart nbwatch"), "{said}");
    }

    #[tokio::test]
    async fn each_sources_messages_come_tagged_with_its_number() {
        let ok: Arc<dyn Source> = Arc::new(Fixed(Some(7), AtomicU64::new(0)));
        let failing: Arc<dyn Source> = Arc::new(Fixed(None, AtomicU64::new(0)));
        let mut p = spawn_all(vec![
            (ok, PollerConfig::default()),
            (failing, PollerConfig::default()),
        ]);
        assert_eq!(p.len(), 2);
        let (mut snapshot_from, mut failure_from) = (None, None);
        while snapshot_from.is_none() || failure_from.is_none() {
            match p.messages.recv().await {
                Some((n, Message::Snapshot { listing, .. })) => {
                    assert_eq!(listing.total, Some(7));
                    snapshot_from = Some(n);
                }
                Some((n, Message::Failed { .. })) => failure_from = Some(n),
                Some(_) => {}
                None => panic!("the pollers stopped"),
            }
        }
        assert_eq!((snapshot_from, failure_from), (Some(0), Some(1)));
    }
}
