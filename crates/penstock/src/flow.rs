//! Results of pushing data: what a downstream element answers to a buffer.

/// Why a buffer could not be pushed (GStreamer's non-OK `GstFlowReturn`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FlowError {
    /// The pad is flushing (seek or shutdown): stop pushing, quietly.
    #[error("flushing")]
    Flushing,
    /// Downstream has reached end of stream and wants no more data.
    #[error("end of stream")]
    Eos,
    /// The pad is not linked.
    #[error("not linked")]
    NotLinked,
    /// Caps were not negotiated or a buffer does not match them.
    #[error("not negotiated")]
    NotNegotiated,
    /// A fatal error; the element posted an error message on the bus.
    #[error("error")]
    Error,
}

/// The result of a push or chain: `Ok(())` or why not.
pub type FlowResult = Result<(), FlowError>;

impl FlowError {
    /// True for the results that end a streaming thread with an error message
    /// (not-linked and not-negotiated and error); flushing and EOS end it quietly.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            FlowError::NotLinked | FlowError::NotNegotiated | FlowError::Error
        )
    }
}
