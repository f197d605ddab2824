//! stub
/// Record errors.
#[derive(Debug, thiserror::Error)]
pub enum RecordError { /// stub
 #[error("x")] X }
