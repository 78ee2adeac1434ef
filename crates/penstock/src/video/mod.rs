//! Video formats and layouts.
