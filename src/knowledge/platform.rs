//! Which SECOP a question is about. SECOP I is the agency's older platform,
//! where entities published and suppliers did not log in; the folder's
//! how-to entries are SECOP II's. «¿Cómo cambio la contraseña de mi usuario
//! de SECOP 1?» shares every word with SECOP II's entry but not its answer:
//! the steps, the screens and the support differ. Only entries whose own
//! text speaks of SECOP I (the difference between the two, which one to
//! use, where old contracts are) answer a question that names SECOP I alone.

use super::analyzer::{fold, words};

/// The SECOPs a text names.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    /// «SECOP I», «secop 1», «secop uno», «secop1».
    pub one: bool,
    /// «SECOP II», «secop 2», «secop dos», «secop2».
    pub two: bool,
}

impl Named {
    /// Whether the text names SECOP I and not SECOP II.
    pub fn only_one(self) -> bool {
        self.one && !self.two
    }
}

/// The SECOPs `text` names (see [`Named`]).
pub fn named(text: &str) -> Named {
    let folded: Vec<String> = words(text).map(|w| fold(&w)).collect();
    let mut n = Named::default();
    for (i, w) in folded.iter().enumerate() {
        match w.as_str() {
            "secop1" | "secopi" => n.one = true,
            "secop2" | "secopii" => n.two = true,
            "secop" => match folded.get(i + 1).map(String::as_str) {
                Some("i" | "1" | "uno") => n.one = true,
                Some("ii" | "2" | "dos") => n.two = true,
                _ => {}
            },
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_a_text_names_is_read_in_its_spellings() {
        for q in [
            "olvidé la clave de SECOP I",
            "en secop 1 publiqué mal un documento",
            "mi usuario del secop uno",
            "entraba al secop1 sin problema",
        ] {
            assert_eq!(
                named(q),
                Named {
                    one: true,
                    two: false
                },
                "{q}"
            );
            assert!(named(q).only_one(), "{q}");
        }
        for q in [
            "cómo entro a SECOP II",
            "secop 2",
            "el secop dos",
            "secopII",
        ] {
            assert_eq!(
                named(q),
                Named {
                    one: false,
                    two: true
                },
                "{q}"
            );
        }
        assert!(!named("¿qué diferencia hay entre SECOP I y SECOP II?").only_one());
        assert!(!named("cómo entro al secop").one);
        assert!(!named("el secop informa que el proceso 1 cerró").one);
    }
}
