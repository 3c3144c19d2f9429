//! gmmn-discriminate (in progress).

pub mod metrics;
