//! The run's model: the types every stage shares and none owns. It imports
//! nothing of the stages (only std, serde, chrono, the hashing crate and
//! the error type).

pub mod manifest;
pub mod period;
pub mod rows;
pub mod text;
pub mod unit;
