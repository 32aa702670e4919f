//! The poller's message queue to the app, bounded where it matters: pages. A
//! sweep of 10,000 instances sends 200 pages of decoded records (~200 KB each);
//! when the app falls behind (a slow terminal, a burst of pages from a fast
//! server) they would pile up in memory. The sweep waits for room
//! ([`PageSender::room`]) before reading more once [`MAX_QUEUED_PAGES`] are
//! waiting; every other message goes through at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, mpsc};

use super::Message;

/// Pages sent and not yet received before a sweep waits.
pub const MAX_QUEUED_PAGES: usize = 8;

#[derive(Debug, Default)]
struct Gate {
    queued: AtomicUsize,
    taken: Notify,
}

/// The app stopped listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// The poller's end.
#[derive(Debug, Clone)]
pub struct PageSender {
    tx: mpsc::UnboundedSender<Message>,
    gate: Arc<Gate>,
}

/// The app's end. Receiving a page makes room for the next.
#[derive(Debug)]
pub struct Messages {
    rx: mpsc::UnboundedReceiver<Message>,
    gate: Arc<Gate>,
}

pub fn channel() -> (PageSender, Messages) {
    let (tx, rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Gate::default());
    (
        PageSender {
            tx,
            gate: gate.clone(),
        },
        Messages { rx, gate },
    )
}

impl PageSender {
    /// Sends at once. An error means the app has gone.
    pub fn send(&self, msg: Message) -> Result<(), Gone> {
        let page = matches!(msg, Message::Page { .. });
        if page {
            self.gate.queued.fetch_add(1, Ordering::SeqCst);
        }
        self.tx.send(msg).map_err(|_| {
            if page {
                self.gate.queued.fetch_sub(1, Ordering::SeqCst);
            }
            Gone
        })
    }

    /// Resolves once fewer than [`MAX_QUEUED_PAGES`] pages wait for the app, or
    /// the app has gone (nothing to wait for then).
    pub async fn room(&self) {
        loop {
            let taken = self.gate.taken.notified();
            if self.gate.queued.load(Ordering::SeqCst) < MAX_QUEUED_PAGES || self.tx.is_closed() {
                return;
            }
            taken.await;
        }
    }
}

impl Messages {
    pub async fn recv(&mut self) -> Option<Message> {
        let msg = self.rx.recv().await;
        self.took(msg.as_ref());
        msg
    }

    pub fn try_recv(&mut self) -> Result<Message, mpsc::error::TryRecvError> {
        let msg = self.rx.try_recv();
        self.took(msg.as_ref().ok());
        msg
    }

    fn took(&self, msg: Option<&Message>) {
        if matches!(msg, Some(Message::Page { .. })) {
            self.gate.queued.fetch_sub(1, Ordering::SeqCst);
            self.gate.taken.notify_waiters();
        }
    }
}

impl Drop for Messages {
    fn drop(&mut self) {
        // A sweep waiting for room must not wait for an app that has gone.
        self.rx.close();
        self.gate.taken.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Message {
        Message::Page {
            notebooks: Vec::new(),
            loaded: 0,
            total: None,
            read_at_ms: 0,
        }
    }

    #[tokio::test]
    async fn a_sweep_waits_while_the_app_has_pages_to_take() {
        let (tx, mut rx) = channel();
        for _ in 0..MAX_QUEUED_PAGES {
            tx.send(page()).unwrap();
        }
        // Other messages never count.
        tx.send(Message::Started).unwrap();
        let mut room = Box::pin(tx.room());
        assert!(
            futures::poll!(room.as_mut()).is_pending(),
            "full: the sweep waits"
        );
        assert!(matches!(rx.recv().await, Some(Message::Page { .. })));
        tokio::time::timeout(std::time::Duration::from_secs(5), room)
            .await
            .expect("room once a page is taken");
    }

    #[tokio::test]
    async fn a_gone_app_never_blocks_the_sweep() {
        let (tx, rx) = channel();
        for _ in 0..MAX_QUEUED_PAGES {
            tx.send(page()).unwrap();
        }
        let room = tx.room();
        drop(rx);
        tokio::time::timeout(std::time::Duration::from_secs(5), room)
            .await
            .expect("no wait for a receiver that has gone");
    }
}
