use super::model::Plan; pub fn generate(_plan: &Plan) -> String { String::new() }
