//! Checks of typed answers: e-mail, Colombian phone numbers and identity documents.
//!
//! Each check returns the value normalised (what is stored) or a Spanish
//! explanation of what is expected, which the user sees with the same step.

use std::collections::BTreeMap;

use super::model::InputKind;

/// The field a `document` step reads the document type from (CC, CE, NIT…).
pub const DOCUMENT_TYPE_FIELD: &str = "tipo_documento";

/// Checks `text` for `kind`. `fields` gives context (the document type).
///
/// # Errors
/// A Spanish message saying what is expected.
pub fn check(
    kind: InputKind,
    text: &str,
    fields: &BTreeMap<String, String>,
) -> Result<String, String> {
    let text = text.trim();
    match kind {
        InputKind::Text => text_value(text),
        InputKind::Email => email(text),
        InputKind::Phone => phone(text),
        InputKind::Document => document(text, fields.get(DOCUMENT_TYPE_FIELD).map(String::as_str)),
    }
}

fn text_value(text: &str) -> Result<String, String> {
    let len = text.chars().count();
    if len < 2 {
        return Err("Escriba un poco más: necesitamos al menos dos caracteres.".into());
    }
    if len > 2000 {
        return Err("El texto es muy largo: resúmalo en menos de 2.000 caracteres.".into());
    }
    Ok(text.to_owned())
}

fn email(text: &str) -> Result<String, String> {
    const HELP: &str =
        "Ese correo no parece válido. Escríbalo completo, por ejemplo: nombre@entidad.gov.co";
    let text = text.to_lowercase();
    let Some((local, domain)) = text.split_once('@') else {
        return Err(HELP.into());
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if local_ok && domain_ok {
        Ok(text)
    } else {
        Err(HELP.into())
    }
}

/// Colombian mobile (10 digits starting with 3) or landline (60X + 7 digits),
/// with an optional +57 and any spaces, dots, dashes or parentheses. A bare
/// 7-digit number is a Bogotá landline written without its indicativo (as the
/// support line "7456788" is quoted) and is stored as 601 + number.
fn phone(text: &str) -> Result<String, String> {
    const HELP: &str = "Ese teléfono no parece válido. Escriba un celular de 10 dígitos que empiece por 3 (ej.: 300 123 4567) o un fijo con su indicativo (ej.: 601 745 6788).";
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
    {
        return Err(HELP.into());
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let bogota;
    let national = if digits.len() == 12 && digits.starts_with("57") {
        &digits[2..]
    } else if digits.len() == 7 && !text.trim_start().starts_with('+') && !digits.starts_with('0') {
        bogota = format!("601{digits}");
        bogota.as_str()
    } else if text.trim_start().starts_with('+') {
        return Err(HELP.into());
    } else {
        digits.as_str()
    };
    let ok = national.len() == 10 && (national.starts_with('3') || national.starts_with("60"));
    if ok {
        Ok(national.to_owned())
    } else {
        Err(HELP.into())
    }
}

/// Document numbers by type; without a known type, 5–15 letters or digits with at least one digit.
fn document(text: &str, kind: Option<&str>) -> Result<String, String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | ','))
        .collect::<String>()
        .to_uppercase();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let alnum = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let (ok, help) = match kind.unwrap_or("") {
        "CC" => (
            digits(&cleaned) && (6..=10).contains(&cleaned.len()),
            "La cédula de ciudadanía tiene entre 6 y 10 dígitos, sin letras.",
        ),
        "CE" => (
            alnum(&cleaned) && (6..=12).contains(&cleaned.len()),
            "La cédula de extranjería tiene entre 6 y 12 letras o dígitos.",
        ),
        "NIT" => {
            let (base, dv) = cleaned.split_once('-').unwrap_or((cleaned.as_str(), ""));
            if !(digits(base)
                && (9..=10).contains(&base.len())
                && (dv.is_empty() || (dv.len() == 1 && digits(dv))))
            {
                (false, "El NIT tiene 9 o 10 dígitos y, si quiere, el dígito de verificación con guion (ej.: 900123456-8).")
            } else if !dv.is_empty() && nit_check_digit(base).to_string() != dv {
                return Err(format!(
                    "El dígito de verificación no corresponde a ese NIT: para {base} es {}. Revise el número en el RUT y escríbalo de nuevo.",
                    nit_check_digit(base)
                ));
            } else {
                (true, "")
            }
        }
        "TI" => (
            digits(&cleaned) && (10..=11).contains(&cleaned.len()),
            "La tarjeta de identidad tiene 10 u 11 dígitos.",
        ),
        "PA" => (
            alnum(&cleaned) && (5..=12).contains(&cleaned.len()),
            "El pasaporte tiene entre 5 y 12 letras o dígitos.",
        ),
        "PPT" | "PEP" => (
            digits(&cleaned) && (6..=15).contains(&cleaned.len()),
            "El permiso por protección temporal tiene entre 6 y 15 dígitos.",
        ),
        _ => (
            alnum(&cleaned.replace('-', ""))
                && (5..=15).contains(&cleaned.len())
                && cleaned.bytes().any(|b| b.is_ascii_digit()),
            "Escriba el número del documento: entre 5 y 15 letras o dígitos.",
        ),
    };
    if ok {
        Ok(cleaned)
    } else {
        Err(help.into())
    }
}

/// The DIAN's check digit (dígito de verificación) of a NIT: the digits,
/// from the right, weighted by 3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53,
/// 59, 67, 71; the sum modulo 11 is the digit when below 2, else 11 minus it.
/// Source: DIAN, Orden Administrativa 4 de 1989 (the algorithm every RUT uses).
pub fn nit_check_digit(base: &str) -> u32 {
    const WEIGHTS: [u32; 15] = [3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71];
    let sum: u32 = base
        .bytes()
        .rev()
        .filter(u8::is_ascii_digit)
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    match sum % 11 {
        r @ (0 | 1) => r,
        r => 11 - r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(doc: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(DOCUMENT_TYPE_FIELD.to_owned(), doc.to_owned())])
    }

    #[test]
    fn table() {
        let none = BTreeMap::new();
        type Case<'a> = (
            InputKind,
            &'a str,
            &'a BTreeMap<String, String>,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (
                InputKind::Email,
                "Ana.Perez@MinSalud.gov.co",
                &none,
                Some("ana.perez@minsalud.gov.co"),
            ),
            (InputKind::Email, "ana.perez", &none, None),
            (InputKind::Email, "ana@", &none, None),
            (InputKind::Email, "ana@dominio", &none, None),
            (InputKind::Email, "a b@x.co", &none, None),
            (InputKind::Phone, "300 123 4567", &none, Some("3001234567")),
            (
                InputKind::Phone,
                "+57 (601) 745-6788",
                &none,
                Some("6017456788"),
            ),
            (InputKind::Phone, "7456788", &none, Some("6017456788")),
            (InputKind::Phone, "745 67 88", &none, Some("6017456788")),
            (InputKind::Phone, "+7456788", &none, None),
            (InputKind::Phone, "0456788", &none, None),
            (InputKind::Phone, "300-abc-4567", &none, None),
            (InputKind::Phone, "+1 212 555 0100", &none, None),
            (
                InputKind::Document,
                "1.020.304.050",
                &fields("CC"),
                Some("1020304050"),
            ),
            (InputKind::Document, "12AB", &fields("CC"), None),
            (
                InputKind::Document,
                "900123456-8",
                &fields("NIT"),
                Some("900123456-8"),
            ),
            (InputKind::Document, "900123456-7", &fields("NIT"), None),
            (
                InputKind::Document,
                "900123456",
                &fields("NIT"),
                Some("900123456"),
            ),
            (
                InputKind::Document,
                "AB123456",
                &fields("PA"),
                Some("AB123456"),
            ),
            (InputKind::Document, "abc", &none, None),
            (InputKind::Text, "x", &none, None),
            (
                InputKind::Text,
                "Alcaldía de Pasto",
                &none,
                Some("Alcaldía de Pasto"),
            ),
        ];
        for (kind, input, fields, want) in cases {
            let got = check(*kind, input, fields);
            match want {
                Some(v) => assert_eq!(got.as_deref(), Ok(*v), "{kind:?} {input}"),
                None => assert!(got.is_err(), "{kind:?} {input} should fail, got {got:?}"),
            }
        }
    }

    #[test]
    fn nit_with_a_wrong_check_digit_is_refused() {
        // Check digits as printed on public RUTs of Colombian agencies.
        for (base, dv) in [
            ("899999061", 9), // Alcaldía Mayor de Bogotá
            ("800197268", 4), // DIAN
            ("830115226", 3), // Colombia Compra Eficiente (ANCP-CCE)
            ("860034313", 7), // Banco Davivienda
        ] {
            assert_eq!(nit_check_digit(base), dv, "{base}");
            let good = format!("{base}-{dv}");
            assert_eq!(
                check(InputKind::Document, &good, &fields("NIT")),
                Ok(good.clone())
            );
            for wrong in (0..10).filter(|d| *d != dv) {
                let err = check(
                    InputKind::Document,
                    &format!("{base}-{wrong}"),
                    &fields("NIT"),
                )
                .expect_err("wrong check digit accepted");
                assert!(err.contains(&format!("es {dv}")), "{err}");
            }
        }
    }
}
