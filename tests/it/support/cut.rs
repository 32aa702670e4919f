//! A proxy on 127.0.0.1 in front of a simulator that passes reads through and,
//! for an action (POST, PATCH, DELETE), passes the request on (so the service
//! acts), reads the whole answer, and then resets the client's connection
//! (SO_LINGER 0, a real RST) instead of answering: the request went out, the
//! service acted, and the client never hears of it.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct CutProxy {
    pub endpoint: String,
    actions: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    /// Listens on a free loopback port, forwarding to `upstream` (`127.0.0.1:PORT`).
    pub async fn start(upstream: String) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let actions = Arc::new(AtomicU64::new(0));
        let counted = actions.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (upstream, counted) = (upstream.clone(), counted.clone());
                tokio::spawn(serve(conn, upstream, counted));
            }
        });
        CutProxy {
            endpoint,
            actions,
            task,
        }
    }

    /// Actions that reached the proxy (and so the simulator).
    pub fn actions(&self) -> u64 {
        self.actions.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut conn: TcpStream, upstream: String, actions: Arc<AtomicU64>) {
    while let Some(request) = read_message(&mut conn).await {
        let is_action = ["POST ", "PATCH ", "DELETE "]
            .iter()
            .any(|m| request.starts_with(m.as_bytes()));
        let Ok(mut up) = TcpStream::connect(&upstream).await else {
            return;
        };
        if up.write_all(&request).await.is_err() {
            return;
        }
        let Some(answer) = read_message(&mut up).await else {
            return;
        };
        if is_action {
            actions.fetch_add(1, Ordering::SeqCst);
            // The whole request was read and acted on: reset, do not answer.
            let _ = conn.set_zero_linger();
            drop(conn);
            return;
        }
        if conn.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 message (head and a `Content-Length` body), or `None` at the end.
async fn read_message(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}
