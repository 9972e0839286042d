//! Who is writing: an Entity's official or a supplier. Close entries come in
//! pairs, one per side of the same step (the supplier sends the guarantee,
//! the Entity approves or rejects it; the Entity publishes an adenda, the
//! supplier learns of it), and they share nearly every word: «la entidad me
//! rechazó la garantía» matched the Entity's entry on rejecting one,
//! because "rechazar" is its word. The speaker's side is in how they write
//! («la entidad me…», «soy contratista», «mi oferta» against «el contratista
//! nos…», «soy supervisor», «mi entidad»); an entry of the other side's
//! group (`faq/entidades/`, `faq/proveedores/`) is then lowered.

use super::analyzer::{fold, words};

/// The side of the procurement a message is written from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An official of an Entity (the buyer).
    Entity,
    /// A supplier, bidder or contractor.
    Supplier,
}

impl Role {
    /// The `faq/` group folder of the entries written for this side.
    pub fn group(self) -> &'static str {
        match self {
            Role::Entity => "entidades",
            Role::Supplier => "proveedores",
        }
    }

    /// The side whose entries `group` holds, if it is a side's group.
    pub fn of_group(group: &str) -> Option<Role> {
        [Role::Entity, Role::Supplier]
            .into_iter()
            .find(|r| r.group() == group)
    }

    /// The other side.
    pub fn other(self) -> Role {
        match self {
            Role::Entity => Role::Supplier,
            Role::Supplier => Role::Entity,
        }
    }
}

/// Folded word sequences a supplier writes: what they are, what is theirs,
/// what the Entity or its supervisor did to them.
const SUPPLIER: &[&[&str]] = &[
    &["soy", "proveedor"],
    &["soy", "proveedora"],
    &["soy", "contratista"],
    &["soy", "el", "contratista"],
    &["soy", "la", "contratista"],
    &["somos", "proveedores"],
    &["somos", "contratistas"],
    &["somos", "los", "contratistas"],
    &["como", "proveedor"],
    &["como", "contratista"],
    &["mi", "oferta"],
    &["nuestra", "oferta"],
    &["mi", "propuesta"],
    &["nuestra", "propuesta"],
    &["la", "entidad", "me"],
    &["la", "entidad", "nos"],
    &["el", "supervisor", "me"],
    &["la", "supervisora", "me"],
    &["el", "supervisor", "nos"],
    &["la", "supervisora", "nos"],
];

/// Folded word sequences an Entity's official writes.
const ENTITY: &[&[&str]] = &[
    &["soy", "de", "la", "entidad"],
    &["somos", "la", "entidad"],
    &["como", "entidad"],
    &["mi", "entidad"],
    &["nuestra", "entidad"],
    &["el", "contratista", "me"],
    &["el", "contratista", "nos"],
    &["la", "contratista", "me"],
    &["la", "contratista", "nos"],
    &["el", "proveedor", "me"],
    &["el", "proveedor", "nos"],
    &["los", "oferentes"],
    &["un", "oferente"],
    &["soy", "supervisor"],
    &["soy", "el", "supervisor"],
    &["soy", "la", "supervisora"],
    &["comite", "evaluador"],
    &["subio", "el", "contratista"],
    &["cargo", "el", "contratista"],
    &["envio", "el", "contratista"],
    &["subio", "el", "proveedor"],
    &["envio", "el", "proveedor"],
];

/// The side `text` is written from, when its words say one and not the
/// other; `None` when they say neither or both.
pub fn speaker(text: &str) -> Option<Role> {
    let folded: Vec<String> = words(text).map(|w| fold(&w)).collect();
    let says = |cues: &[&[&str]]| {
        cues.iter().any(|cue| {
            folded
                .windows(cue.len())
                .any(|w| w.iter().zip(cue.iter()).all(|(a, b)| a == b))
        })
    };
    match (says(SUPPLIER), says(ENTITY)) {
        (true, false) => Some(Role::Supplier),
        (false, true) => Some(Role::Entity),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_speakers_side_is_read_from_how_they_write() {
        for q in [
            "la entidad me rechazó la garantía, ¿cómo cargo una nueva?",
            "Soy contratista de la alcaldía y no encuentro dónde subir la póliza",
            "¿puedo retirar mi oferta antes del cierre?",
            "el supervisor me devolvió la factura",
            "Somos proveedores de papelería, ¿cómo vemos los procesos nuevos?",
        ] {
            assert_eq!(speaker(q), Some(Role::Supplier), "{q:?}");
        }
        for q in [
            "el contratista nos envió la póliza con el valor mal, ¿cómo la rechazo?",
            "Soy supervisor del contrato de aseo, ¿dónde apruebo la factura?",
            "uno de los oferentes no adjuntó el RUT",
            "en mi entidad nadie sabe publicar el plan anual",
            "la póliza que subió el contratista vence antes que el contrato",
        ] {
            assert_eq!(speaker(q), Some(Role::Entity), "{q:?}");
        }
        for q in [
            "¿cómo cambio mi contraseña?",
            "el proveedor me dijo que la entidad me iba a llamar",
            "¿qué es una adenda?",
        ] {
            assert_eq!(speaker(q), None, "{q:?}");
        }
    }
}
