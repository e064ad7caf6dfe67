//! plangraf's plan-schedules as ЕИС documents and back, without I/O: the packet of a version
//! built from its immutable snapshot (`build`), and the positions of ЕИС's export read back into
//! plangraf's (`read`). Kept apart from the exchange so that the fuzz targets and the benches
//! can reach it without a database.

pub mod build;
pub mod read;
