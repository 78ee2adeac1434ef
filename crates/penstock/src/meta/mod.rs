//! Metas
