//! For programs without an async runtime.

/// Run a future to completion on a new single-threaded Tokio runtime, for programs that have
/// none (`agent::block_on(agent.session())`). It must not be called inside a runtime: Tokio
/// refuses to block one of its own threads.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded Tokio runtime can always be built")
        .block_on(future)
}
