//! The one "call now or fail now" future behind the response futures of this module.

use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pin_project! {
    /// Either a call in flight, or the error that kept a service from making it (a request
    /// it could not route, rewrite or convert).
    ///
    /// Resolves to the call's output (its error converted into `E`) or to the error. Like
    /// `std::future::Ready` and tower's futures, it panics if polled again after it
    /// returned `Ready`; the inner future is dropped as soon as it completes.
    #[project = CallOrFailProj]
    pub(crate) enum CallOrFail<F, E> {
        Call { #[pin] fut: F },
        Fail { error: Option<E> },
        Done,
    }
}

impl<F, E> CallOrFail<F, E> {
    /// The future of a call that was made.
    pub(crate) fn call(fut: F) -> Self {
        CallOrFail::Call { fut }
    }

    /// A call that could not be made: resolves to `error` at once.
    pub(crate) fn fail(error: impl Into<E>) -> Self {
        CallOrFail::Fail {
            error: Some(error.into()),
        }
    }
}

impl<F, T, FE, E> Future for CallOrFail<F, E>
where
    F: Future<Output = Result<T, FE>>,
    FE: Into<E>,
{
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = match self.as_mut().project() {
            CallOrFailProj::Call { fut } => ready!(fut.poll(cx)).map_err(Into::into),
            CallOrFailProj::Fail { error } => match error.take() {
                Some(e) => Err(e),
                None => panic!("CallOrFail polled after completion"),
            },
            CallOrFailProj::Done => panic!("CallOrFail polled after completion"),
        };
        self.set(CallOrFail::Done);
        Poll::Ready(out)
    }
}

impl<F, E> fmt::Debug for CallOrFail<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallOrFail::Call { .. } => "CallOrFail::Call",
            CallOrFail::Fail { .. } => "CallOrFail::Fail",
            CallOrFail::Done => "CallOrFail::Done",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::ready;
    use tokio_test::{assert_ready, task};

    type Fut = std::future::Ready<Result<u8, &'static str>>;

    #[test]
    fn resolves_to_the_call_or_the_error() {
        let mut call = task::spawn(CallOrFail::<Fut, String>::call(ready(Ok(1))));
        assert_eq!(assert_ready!(call.poll()), Ok(1));
        let mut failed = task::spawn(CallOrFail::<Fut, String>::call(ready(Err("refused"))));
        assert_eq!(assert_ready!(failed.poll()), Err("refused".to_owned()));
        let mut fail = task::spawn(CallOrFail::<Fut, String>::fail("no host"));
        assert_eq!(assert_ready!(fail.poll()), Err("no host".to_owned()));
    }

    #[test]
    #[should_panic(expected = "polled after completion")]
    fn a_failed_call_panics_when_polled_again() {
        let mut fail = task::spawn(CallOrFail::<Fut, String>::fail("no host"));
        let _ = fail.poll();
        let _ = fail.poll();
    }

    #[test]
    #[should_panic(expected = "polled after completion")]
    fn a_made_call_panics_when_polled_again() {
        let mut call = task::spawn(CallOrFail::<Fut, String>::call(ready(Ok(1))));
        let _ = call.poll();
        let _ = call.poll();
    }
}
