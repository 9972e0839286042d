//! A password of another system: "olvidé la contraseña del computador de la
//! oficina", "¿cómo cambio la clave del correo institucional?".
//!
//! The folder's password entries share three words with such a question
//! (olvidar, contraseña, restablecer), and the word naming the system is one
//! word against them: the ranking answered the SECOP II entry with
//! confidence. When the question names the credential's owner, and the owner
//! is a system SECOP II does not run, it is out of scope whatever the other
//! words say.

use super::analyzer::{fold, words};

/// Credential nouns, folded.
const CREDENTIAL: &[&str] = &[
    "contrasena",
    "contrasenas",
    "clave",
    "claves",
    "password",
    "pin",
];

/// Words between "de" and the owner.
const DETERMINERS: &[&str] = &[
    "la", "el", "los", "las", "mi", "mis", "su", "sus", "tu", "nuestro", "nuestra",
];

/// Owners that are another system, folded.
const OTHER_OWNERS: &[&str] = &[
    "correo",
    "email",
    "mail",
    "gmail",
    "hotmail",
    "outlook",
    "yahoo",
    "computador",
    "computadora",
    "pc",
    "portatil",
    "wifi",
    "internet",
    "router",
    "modem",
    "celular",
    "telefono",
    "banco",
    "tarjeta",
    "cajero",
    "windows",
    "facebook",
    "instagram",
    "whatsapp",
    "netflix",
    "nequi",
    "daviplata",
    "bancolombia",
    "davivienda",
    "dian",
    "muisca",
    "sigep",
    "siif",
];

/// After "correo", words that make it SECOP II's own message ("la clave del
/// correo de recuperación").
const SECOP_MAIL: &[&str] = &["recuperacion", "restablecimiento", "secop", "verificacion"];

/// Whether `text` asks about the password of a system SECOP II does not run.
pub fn names_another_system(text: &str) -> bool {
    let folded: Vec<String> = words(text).map(|w| fold(&w)).collect();
    folded.iter().enumerate().any(|(i, w)| {
        if !CREDENTIAL.contains(&w.as_str()) {
            return false;
        }
        let mut rest = folded[i + 1..].iter().map(String::as_str);
        if !matches!(rest.next(), Some("de" | "del")) {
            return false;
        }
        let mut owner = rest.next();
        while owner.is_some_and(|o| DETERMINERS.contains(&o)) {
            owner = rest.next();
        }
        let Some(owner) = owner else { return false };
        if !OTHER_OWNERS.contains(&owner) {
            return false;
        }
        let secop_mail = owner == "correo" && rest.take(2).any(|w| SECOP_MAIL.contains(&w));
        !secop_mail
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_of_another_system_is_recognised() {
        for q in [
            "no me acuerdo de la clave del wifi de la oficina",
            "cómo cambio la contraseña de mi correo de la alcaldía",
            "se me bloqueó la clave del banco",
            "olvidé el pin de la tarjeta",
            "recuperar la contraseña del portátil",
        ] {
            assert!(names_another_system(q), "{q:?}");
        }
    }

    #[test]
    fn the_password_of_secop_is_not_another_system() {
        for q in [
            "olvidé mi contraseña de SECOP II",
            "la clave de mi usuario no funciona",
            "no me llega el correo para cambiar la contraseña",
            "la contraseña del correo de recuperación no me sirve",
            "cambiar la clave del administrador de la cuenta",
            "la clave de acceso a la plataforma",
        ] {
            assert!(!names_another_system(q), "{q:?}");
        }
    }
}
