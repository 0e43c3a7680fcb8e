//! Identifiers made from the plan's names: events, properties and enum
//! values are free text ("Order Completed", "payment-method", "Apple Pay");
//! each language wants its own casing of the same words, and none of its
//! keywords. This module decides the words and the casings; each language
//! module gives its keyword list and how it escapes one.

/// The words of `name`: runs of ASCII letters and digits, split again where
/// a lower-case letter or digit meets an upper-case one ("orderId" → order,
/// id) and before the last capital of an acronym ("HTTPServer" → http,
/// server). Anything else separates words. Lower-cased.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = run.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if c.is_ascii_uppercase() => {
                    p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                }
                _ => false,
            };
            if boundary && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.push(c.to_ascii_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A casing of a name's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `order_completed`
    Snake,
    /// `ORDER_COMPLETED`
    ScreamingSnake,
    /// `orderCompleted`
    Camel,
    /// `OrderCompleted`
    Pascal,
}

/// `words` joined in `case`; a leading digit gets a `_` in front (Snake,
/// ScreamingSnake) or a `V` (Camel: `v2`, Pascal: `V2`), since no language
/// here starts an identifier with a digit. Empty when `words` is.
pub fn join(words: &[String], case: Case) -> String {
    let joined = match case {
        Case::Snake => words.join("_"),
        Case::ScreamingSnake => words.join("_").to_ascii_uppercase(),
        Case::Camel => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { w.clone() } else { capitalized(w) })
            .collect(),
        Case::Pascal => words.iter().map(|w| capitalized(w)).collect(),
    };
    match joined.chars().next() {
        Some(c) if c.is_ascii_digit() => match case {
            Case::Snake | Case::ScreamingSnake => format!("_{joined}"),
            Case::Camel => format!("v{joined}"),
            Case::Pascal => format!("V{joined}"),
        },
        _ => joined,
    }
}

/// `name` in `case`, or `None` when it holds no ASCII letter or digit.
pub fn ident(name: &str, case: Case) -> Option<String> {
    let w = words(name);
    if w.is_empty() {
        None
    } else {
        Some(join(&w, case))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_free_text_camel_case_and_acronyms() {
        assert_eq!(words("Order Completed"), ["order", "completed"]);
        assert_eq!(words("orderId"), ["order", "id"]);
        assert_eq!(words("HTTPServer error"), ["http", "server", "error"]);
        assert_eq!(words("payment-method"), ["payment", "method"]);
        assert_eq!(words("utm_source2"), ["utm", "source2"]);
        assert_eq!(words("$ü!"), Vec::<String>::new());
    }

    #[test]
    fn casings() {
        let w = words("product id");
        assert_eq!(join(&w, Case::Snake), "product_id");
        assert_eq!(join(&w, Case::ScreamingSnake), "PRODUCT_ID");
        assert_eq!(join(&w, Case::Camel), "productId");
        assert_eq!(join(&w, Case::Pascal), "ProductId");
        let digits = words("2fa enabled");
        assert_eq!(join(&digits, Case::Snake), "_2fa_enabled");
        assert_eq!(join(&digits, Case::Camel), "v2faEnabled");
        assert_eq!(join(&digits, Case::Pascal), "V2faEnabled");
        assert_eq!(ident("---", Case::Camel), None);
    }
}
