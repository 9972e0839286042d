//! A password or an account of another system: "olvidé la contraseña del
//! computador de la oficina", "¿cómo cambio la clave del correo
//! institucional?", "se me bloqueó el usuario del SIIF", "el usuario de mi
//! PlayStation quedó bloqueado".
//!
//! The folder's password and lock-out entries share three words with such a
//! question (olvidar, contraseña, bloqueado), and the word naming the system
//! is one word against them: the ranking answered the SECOP II entry with
//! confidence. When the question names the credential's owner, and the owner
//! is a system SECOP II does not run, it is out of scope whatever the other
//! words say. An owner is another system when it is on [`OTHER_OWNERS`], or
//! when it is a name neither the folder nor the Spanish dictionary knows
//! (a brand: «PlayStation», «Siigo»); the caller passes the text already
//! typo-corrected against the folder, so «secp» is SECOP, not a brand.

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

/// Account nouns, folded: "el usuario del SIIF", "la cuenta de Netflix".
/// Unlike a password, «cuenta de correo» or «usuario de Gmail» is how users
/// name their e-mail address, which SECOP II does use ([`MAIL_OWNERS`]).
const ACCOUNT: &[&str] = &[
    "usuario", "usuarios", "cuenta", "cuentas", "perfil", "sesion",
];

/// Owners that name an e-mail address, folded.
const MAIL_OWNERS: &[&str] = &[
    "correo", "email", "mail", "gmail", "hotmail", "outlook", "yahoo",
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
    "pila",
    "sisben",
    "colpensiones",
    "registraduria",
    "rues",
    "playstation",
    "xbox",
    "steam",
    "nintendo",
    "spotify",
    "google",
    "icloud",
    "iphone",
    "android",
    "tiktok",
    "twitter",
    "linkedin",
    "telegram",
    "zoom",
    "teams",
    "uber",
    "rappi",
];

/// After "correo", words that make it SECOP II's own message ("la clave del
/// correo de recuperación").
const SECOP_MAIL: &[&str] = &["recuperacion", "restablecimiento", "secop", "verificacion"];

/// The next word of `rest` after any [`DETERMINERS`]: who owns a
/// credential in «la clave de mi banco», where one enters in «entrar a mi
/// correo».
fn owner<'w>(rest: &mut impl Iterator<Item = &'w str>) -> Option<&'w str> {
    rest.find(|w| !DETERMINERS.contains(w))
}

/// Verbs of getting into a system, folded: «no puedo entrar a mi correo de
/// Gmail, se me olvidó la clave» names the system as the place.
const ENTER: &[&str] = &[
    "entrar", "ingresar", "acceder", "abrir", "entro", "ingreso", "accedo", "abro",
];

/// Words that name SECOP II itself in a message, folded.
const SECOP_NAMES: &[&str] = &["secop", "plataforma", "tvec", "tienda"];

/// Whether folded `words` name a system of [`OTHER_OWNERS`] as the place
/// one gets into («entrar a mi correo», «ingresar al computador»), with a
/// credential noun somewhere and no word naming SECOP II.
fn enters_another_system(words: &[String]) -> bool {
    if !words.iter().any(|w| CREDENTIAL.contains(&w.as_str()))
        || words.iter().any(|w| SECOP_NAMES.contains(&w.as_str()))
    {
        return false;
    }
    words.iter().enumerate().any(|(i, w)| {
        if !ENTER.contains(&w.as_str()) {
            return false;
        }
        let mut rest = words[i + 1..].iter().map(String::as_str);
        if !matches!(rest.next(), Some("a" | "al" | "en")) {
            return false;
        }
        owner(&mut rest).is_some_and(|o| OTHER_OWNERS.contains(&o))
            && !rest.take(3).any(|w| SECOP_MAIL.contains(&w))
    })
}

/// Whether `text` asks about the password or the account of a system SECOP
/// II does not run. `known(folded)` says whether the folder or the Spanish
/// dictionary knows a word; `text` should already be typo-corrected.
pub fn names_another_system(text: &str, known: impl Fn(&str) -> bool) -> bool {
    let folded: Vec<String> = words(text).map(|w| fold(&w)).collect();
    if enters_another_system(&folded) {
        return true;
    }
    folded.iter().enumerate().any(|(i, w)| {
        let account = ACCOUNT.contains(&w.as_str());
        if !account && !CREDENTIAL.contains(&w.as_str()) {
            return false;
        }
        let mut rest = folded[i + 1..].iter().map(String::as_str);
        if !matches!(rest.next(), Some("de" | "del")) {
            return false;
        }
        let Some(owner) = owner(&mut rest) else {
            return false;
        };
        if account && MAIL_OWNERS.contains(&owner) {
            return false;
        }
        let brand = owner.chars().count() >= 3
            && !owner.chars().any(|c| c.is_ascii_digit())
            && !crate::knowledge::analyzer::is_stop_word(owner)
            && !known(owner);
        if !OTHER_OWNERS.contains(&owner) && !brand {
            return false;
        }
        let secop_mail = owner == "correo" && rest.take(2).any(|w| SECOP_MAIL.contains(&w));
        !secop_mail
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the folder and the dictionary would know, for these tests.
    fn known(word: &str) -> bool {
        ["secop", "tvec", "plataforma", "entidad"].contains(&word)
            || crate::knowledge::lexicon::is_word(word)
    }

    #[test]
    fn the_password_of_another_system_is_recognised() {
        for q in [
            "no me acuerdo de la clave del wifi de la oficina",
            "cómo cambio la contraseña de mi correo de la alcaldía",
            "se me bloqueó la clave del banco",
            "olvidé el pin de la tarjeta",
            "recuperar la contraseña del portátil",
            "bloquearon el usuario del SIIF",
            "la cuenta de mi Nintendo no abre",
        ] {
            assert!(names_another_system(q, known), "{q:?}");
        }
    }

    #[test]
    fn entering_another_system_with_a_forgotten_password_is_another_system() {
        for q in [
            "no puedo ingresar a mi hotmail porque olvidé la contraseña",
            "no logro entrar al computador, se me olvidó la clave",
            "cómo hago para acceder a mi correo institucional si no recuerdo la clave",
        ] {
            assert!(names_another_system(q, known), "{q:?}");
        }
        for q in [
            "no puedo entrar a SECOP, olvidé la clave y el enlace llega a mi correo",
            "no puedo entrar a la plataforma con mi contraseña",
            "no puedo abrir el correo de recuperación de la clave",
            "no puedo entrar a mi correo para ver el enlace, y no recuerdo la contraseña de secop",
            "no puedo entrar a mi correo",
        ] {
            assert!(!names_another_system(q, known), "{q:?}");
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
            "el usuario de la entidad está bloqueado",
            "mi cuenta de correo ya no existe",
            "la cuenta de cobro no carga",
        ] {
            assert!(!names_another_system(q, known), "{q:?}");
        }
    }
}
