//! Server-rendered Russian pages.

pub mod excel;
pub mod plan_page;
pub mod plans;
pub mod position_fields;
pub mod position_form;
pub mod positions;
pub mod reference;
pub mod sending;
pub mod session;
pub mod settings;
pub mod versions;
