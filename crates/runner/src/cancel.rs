//! Cancellation of a run from a signal handler: a flag, a wake-up for
//! whatever awaits it, and the load generator's control for the level in progress.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    flag: AtomicBool,
    notify: Notify,
    current: Mutex<Option<loadgen::Control>>,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Stops the run: the level in progress ends with what it measured.
    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
        if let Some(control) = self.0.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            control.cancel();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Resolves once the run is cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Makes `control` the one a cancel reaches (for the level about to run).
    pub(crate) fn attach(&self, control: &loadgen::Control) {
        *self.0.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(control.clone());
        if self.is_cancelled() {
            control.cancel();
        }
    }

    pub(crate) fn detach(&self) {
        *self.0.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
