use super::model::Plan; pub fn generate(_plan: &Plan, _package: Option<&str>) -> String { String::new() }
