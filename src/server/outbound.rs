//! A socket's outbound side: a bounded queue and the task that writes it.
//!
//! The connection's own loop never writes to the network itself, so a client
//! that stops reading cannot stall the loop (pings, idle checks, shutdown keep
//! running). What may pile up for such a client is bounded: `capacity` frames
//! here plus the kernel's send buffer (capped in `server::cap_send_buffer`).
//! A reader that stays behind is closed with 1013 and resumes with
//! `hello{session,last_seq}`: nothing is lost, every message is stored.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a Close frame may take to go out before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long, after our Close, the peer's remaining frames are read and
/// dropped while waiting for its Close (the closing handshake).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The reader is behind by the whole queue (or stayed behind past the limit).
    #[error("the client is not reading its frames")]
    Behind,
    /// The writer stopped (the connection is gone).
    #[error("the connection is closed")]
    Gone,
}

enum Outbound {
    Frame(Message),
    Close(CloseFrame),
}

/// The sending half of a socket.
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    /// Skips the queue: for closing a reader whose queue is full.
    urgent: Option<oneshot::Sender<CloseFrame>>,
    writer: JoinHandle<()>,
    /// How long a frame answering the client's own input may wait for room.
    patience: Duration,
}

impl Outbox {
    /// Starts the writer task over `sink`. A single network write that takes
    /// longer than `patience` ends the connection.
    pub fn start(sink: SplitSink<WebSocket, Message>, capacity: usize, patience: Duration) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (urgent, urgent_rx) = oneshot::channel();
        // Tracked through the returned handle: `close` waits for it.
        let writer = tokio::spawn(write_loop(sink, rx, urgent_rx, patience));
        Outbox {
            tx,
            urgent: Some(urgent),
            writer,
            patience,
        }
    }

    /// Queues a frame that answers the client's own input: waits for room (the
    /// client's pace sets ours), but not longer than the patience.
    ///
    /// # Errors
    /// `Behind` after waiting too long, `Gone` when the connection is closed.
    pub async fn send_own(&self, message: Message) -> Result<(), QueueError> {
        match tokio::time::timeout(self.patience, self.tx.send(Outbound::Frame(message))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(QueueError::Gone),
            Err(_) => Err(QueueError::Behind),
        }
    }

    /// Queues a frame someone else caused (another tab, an agent, a ping):
    /// never waits, so one slow reader cannot hold up anyone.
    ///
    /// # Errors
    /// `Behind` when the queue is full, `Gone` when the connection is closed.
    pub fn send_other(&self, message: Message) -> Result<(), QueueError> {
        self.tx
            .try_send(Outbound::Frame(message))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => QueueError::Behind,
                mpsc::error::TrySendError::Closed(_) => QueueError::Gone,
            })
    }

    /// Resolves when the writer has stopped (the peer is gone or too slow).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }

    /// Sends a Close frame after what is queued (or at once when the queue is
    /// full) and waits, briefly, for the writer to finish.
    pub async fn close(mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if let Err(mpsc::error::TrySendError::Full(Outbound::Close(frame))) =
            self.tx.try_send(Outbound::Close(frame))
        {
            if let Some(urgent) = self.urgent.take() {
                // The writer may have stopped already; then there is no one to tell.
                let _ = urgent.send(frame);
            }
        }
        self.finish().await;
    }

    /// Stops writing after what is queued, without a Close frame of ours
    /// (the peer closed, or is gone).
    pub async fn finish(self) {
        let Outbox {
            tx, urgent, writer, ..
        } = self;
        drop(tx);
        drop(urgent);
        let mut writer = writer;
        if tokio::time::timeout(CLOSE_TIMEOUT * 2, &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    urgent: oneshot::Receiver<CloseFrame>,
    patience: Duration,
) {
    let mut urgent = Some(urgent);
    loop {
        let next = match urgent.as_mut() {
            Some(u) => tokio::select! {
                biased;
                frame = u => {
                    urgent = None;
                    match frame {
                        Ok(frame) => Outbound::Close(frame),
                        // The owner is done and sent nothing urgent: drain the queue.
                        Err(_) => continue,
                    }
                }
                next = rx.recv() => match next {
                    Some(o) => o,
                    None => break,
                },
            },
            None => match rx.recv().await {
                Some(o) => o,
                None => break,
            },
        };
        match next {
            Outbound::Frame(message) => {
                match tokio::time::timeout(patience, sink.send(message)).await {
                    Ok(Ok(())) => {}
                    // Gone, or not reading at all: stop; the owner sees `closed()`.
                    Ok(Err(_)) | Err(_) => break,
                }
            }
            Outbound::Close(frame) => {
                // The peer may already be gone, or not reading: best effort.
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame))))
                    .await;
                break;
            }
        }
    }
    rx.close();
}

/// The RFC 6455 close code for what the WebSocket layer refused in a client's
/// frames: 1009 too big, 1007 text that is not UTF-8, 1002 any other
/// protocol violation (reserved bits, unknown opcodes, unmasked frames…).
pub fn violation(error: &axum::Error) -> (u16, &'static str) {
    use tungstenite::error::{CapacityError, Error as WsError};
    let inner = std::error::Error::source(error)
        .and_then(|e| e.downcast_ref::<WsError>())
        .or_else(|| {
            // axum may hand the tungstenite error over directly.
            let e: &(dyn std::error::Error + 'static) = error;
            e.downcast_ref::<WsError>()
        });
    match inner {
        Some(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
            (1009, "Mensaje demasiado grande.")
        }
        Some(WsError::Utf8(_)) => (1007, "El texto no es UTF-8 válido."),
        Some(WsError::Capacity(_)) => (1009, "Mensaje demasiado grande."),
        _ => (1002, "Error de protocolo WebSocket."),
    }
}

/// Ends an unsplit socket with the closing handshake: our Close (`code`,
/// `reason`), then whatever the peer still sends is read and dropped until
/// its Close, at most [`CLOSE_WAIT`]. A socket dropped with unread bytes is
/// reset by the kernel, and a peer still sending lost the Close that said why.
pub async fn close_unsplit(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let close = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if !matches!(
        tokio::time::timeout(CLOSE_TIMEOUT, socket.send(close)).await,
        Ok(Ok(()))
    ) {
        return;
    }
    drain_until_close(socket).await;
}

/// Reads and drops the peer's frames until its Close, at most [`CLOSE_WAIT`]:
/// the second half of the closing handshake, after our Close went out.
pub async fn drain_until_close<S>(stream: &mut S)
where
    S: futures_util::Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    use futures_util::StreamExt;
    let drain = async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
}
