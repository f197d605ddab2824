//! stub
/// Capture errors.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError { /// stub
 #[error("x")] X }
