//! The queue's global concurrency slot as the engine sees it
//! ([`weft_host::RunSlot`]): let go while a block waits to be retried, so
//! runs held up by rate limits do not keep every other run waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use weft_host::RunSlot;

/// One of the `global_concurrency` slots, held by one run.
pub struct GlobalSlot {
    slots: Arc<Semaphore>,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl GlobalSlot {
    pub fn new(slots: Arc<Semaphore>, permit: OwnedSemaphorePermit) -> Self {
        GlobalSlot {
            slots,
            permit: Mutex::new(Some(permit)),
        }
    }

    fn set(&self, permit: Option<OwnedSemaphorePermit>) {
        // An Option swapped whole: a panic elsewhere cannot leave it torn.
        *self.permit.lock().unwrap_or_else(PoisonError::into_inner) = permit;
    }
}

impl RunSlot for GlobalSlot {
    fn wait_released<'a>(
        &'a self,
        delay: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.set(None);
            tokio::time::sleep(delay).await;
            // Closed only when the queue is gone; then the run goes on
            // without a slot rather than hang.
            if let Ok(permit) = self.slots.clone().acquire_owned().await {
                self.set(Some(permit));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_slot_is_free_while_the_run_waits_and_held_again_after() {
        let slots = Arc::new(Semaphore::new(1));
        let permit = slots.clone().try_acquire_owned().expect("free");
        let slot = Arc::new(GlobalSlot::new(slots.clone(), permit));
        assert!(slots.clone().try_acquire_owned().is_err(), "held");
        let waiting = {
            let slot = slot.clone();
            tokio::spawn(async move { slot.wait_released(Duration::from_millis(200)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let other = slots
            .clone()
            .try_acquire_owned()
            .expect("free while waiting");
        drop(other);
        waiting.await.expect("waited");
        assert!(slots.clone().try_acquire_owned().is_err(), "held again");
    }
}
