//! fio external engine (placeholder until the engine lands).
