//! Character n-grams: TF-IDF vectors over 2–5-grams taken inside words, with
//! accents, case and invisible format characters removed.
//!
//! Character n-grams see through what word analysis misses: typos anywhere in
//! a word ("komo", "klave"), inflections the stemmer splits or merges, and
//! words glued or split by a phone keyboard. Two users of them:
//! - [`NgramIndex`]: nearest phrasing by cosine, a second opinion beside the
//!   word-level confidence in secobot's own ranking;
//! - [`crate::classifier`]: logistic regression over the same vectors.

use std::collections::HashMap;

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Shortest and longest n-gram, in characters (a space pads each word).
const MIN_N: usize = 2;
const MAX_N: usize = 5;

/// A sparse vector: (feature id, value), sorted by id, L2-normalised.
pub type SparseVec = Vec<(u32, f32)>;

/// Lowercases, strips accents and format characters (zero-width joiners,
/// bidi marks), and turns everything but letters and digits into spaces.
/// Decomposed and composed spellings of a word give the same text.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut keep = |c: char| {
        if is_combining_mark(c) || crate::is_invisible(c) {
            return;
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else {
            out.push(' ');
        }
    };
    for c in text.chars() {
        if c.is_ascii() {
            keep(c);
        } else {
            // Each character decomposed on its own: the same as NFD here,
            // which differs only in the order of combining marks, all dropped.
            decompose_canonical(c, &mut keep);
        }
    }
    out
}

/// FNV-1a over the n-gram's characters: stable across runs and platforms.
fn hash(chars: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chars {
        h ^= u64::from(*c);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Calls `f` with the hash of every n-gram of every word of `text` (already
/// [`normalize`]d), words padded with a space on each side. `skip` drops words
/// (stop words) before n-grams are taken.
fn grams(text: &str, skip: &dyn Fn(&str) -> bool, f: &mut dyn FnMut(u64)) {
    let mut buf: Vec<char> = Vec::with_capacity(48);
    for word in text.split_whitespace() {
        if !skip(word) {
            word_grams(word, &mut buf, f);
        }
    }
}

/// The n-grams of one word: a word's n-grams never depend on its neighbours,
/// which is what lets [`Vectorizer::fit_transform`] take them once per word.
fn word_grams(word: &str, buf: &mut Vec<char>, f: &mut dyn FnMut(u64)) {
    buf.clear();
    buf.push(' ');
    buf.extend(word.chars().take(40));
    buf.push(' ');
    for n in MIN_N..=MAX_N {
        if n > buf.len() {
            break;
        }
        for w in buf.windows(n) {
            f(hash(w));
        }
    }
}

/// n-gram hashes are already well mixed (FNV-1a): hashing them again with
/// SipHash was a fifth of a 10,000-entry reload.
#[derive(Default, Clone, Copy)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type GramMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<Prehashed>>;

/// TF-IDF over character n-grams (sublinear tf, smoothed idf, L2 norm), as
/// scikit-learn's `TfidfVectorizer(analyzer="char_wb", sublinear_tf=True)`.
pub struct Vectorizer {
    ids: GramMap<u32>,
    idf: Vec<f32>,
    stop_words: Option<StopWords>,
}

/// Tells whether a (normalised) word is a stop word, which gives no n-grams.
pub type StopWords = fn(&str) -> bool;

impl Vectorizer {
    /// Learns the vocabulary and idf of `texts`. With `stop_words`, those words
    /// give no n-grams (secobot's index); without, every word does (the peer,
    /// as a data scientist would build it).
    pub fn fit(texts: &[&str], stop_words: Option<StopWords>) -> Self {
        Self::fit_transform(texts, stop_words).0
    }

    /// [`Vectorizer::fit`], and the vectors of the same `texts`, from one
    /// n-gram pass over them (a reload would otherwise count every n-gram twice).
    pub fn fit_transform(texts: &[&str], stop_words: Option<StopWords>) -> (Self, Vec<SparseVec>) {
        let mut ids: GramMap<u32> = GramMap::default();
        let mut df: Vec<u32> = Vec::new();
        let skip = skipper(stop_words);
        // Each distinct word's feature ids, taken once: a folder repeats its
        // words, and hashing their n-grams again was most of a 10,000-entry
        // reload's n-gram work.
        let mut by_word: rustc_hash::FxHashMap<&str, Vec<u32>> = Default::default();
        let mut buf: Vec<char> = Vec::with_capacity(48);
        let mut text_ids: Vec<u32> = Vec::new();
        let normalized: Vec<String> = texts.iter().map(|t| normalize(t)).collect();
        let counted: Vec<Vec<(u32, u32)>> = normalized
            .iter()
            .map(|text| {
                text_ids.clear();
                for word in text.split_whitespace() {
                    if skip(word) {
                        continue;
                    }
                    if let Some(known) = by_word.get(word) {
                        text_ids.extend_from_slice(known);
                        continue;
                    }
                    let mut word_ids = Vec::new();
                    word_grams(word, &mut buf, &mut |g| {
                        let next = ids.len() as u32;
                        let id = *ids.entry(g).or_insert(next);
                        if id == next {
                            df.push(0);
                        }
                        word_ids.push(id);
                    });
                    text_ids.extend_from_slice(&word_ids);
                    by_word.insert(word, word_ids);
                }
                text_ids.sort_unstable();
                let counts: Vec<(u32, u32)> = text_ids
                    .chunk_by(|a, b| a == b)
                    .map(|run| (run[0], run.len() as u32))
                    .collect();
                for (id, _) in &counts {
                    df[*id as usize] += 1;
                }
                counts
            })
            .collect();
        let n = texts.len() as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|d| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0)
            .collect();
        let vectors = counted
            .into_iter()
            .map(|c| weigh(c.into_iter(), &idf))
            .collect();
        (
            Vectorizer {
                ids,
                idf,
                stop_words,
            },
            vectors,
        )
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// The text's vector; n-grams never seen in training are dropped.
    pub fn transform(&self, text: &str) -> SparseVec {
        let skip = skipper(self.stop_words);
        // Known feature ids, sorted and counted by runs: a query's n-grams
        // need no map of their own (this is on every question's path).
        let mut ids: Vec<u32> = Vec::with_capacity(4 * text.len());
        grams(&normalize(text), &skip, &mut |g| {
            if let Some(id) = self.ids.get(&g) {
                ids.push(*id);
            }
        });
        ids.sort_unstable();
        let known = ids
            .chunk_by(|a, b| a == b)
            .map(|run| (run[0], run.len() as u32));
        weigh(known, &self.idf)
    }
}

/// Sublinear tf × idf of (feature, count) pairs, sorted by feature, L2-normalised.
fn weigh(counts: impl Iterator<Item = (u32, u32)>, idf: &[f32]) -> SparseVec {
    let mut v: SparseVec = counts
        .map(|(id, c)| (id, (1.0 + (c as f32).ln()) * idf[id as usize]))
        .collect();
    v.sort_unstable_by_key(|(id, _)| *id);
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    v
}

fn skipper(stop_words: Option<StopWords>) -> impl Fn(&str) -> bool {
    move |w: &str| stop_words.is_some_and(|is_stop| is_stop(w))
}

/// (item, weight) lists by feature id, in one allocation: a 10,000-entry
/// folder has hundreds of thousands of them, and growing each on its own was
/// a sixth of the n-gram index's build.
struct Postings {
    /// `items[offsets[f]..offsets[f + 1]]` are feature `f`'s.
    offsets: Vec<u32>,
    items: Vec<(u32, f32)>,
}

impl Postings {
    /// From (feature, item, weight) triples; each feature keeps its items in
    /// the order given (a counting sort, stable).
    fn by_feature(features: usize, triples: Vec<(u32, u32, f32)>) -> Self {
        let mut offsets = vec![0u32; features + 1];
        for (f, _, _) in &triples {
            offsets[*f as usize + 1] += 1;
        }
        for f in 0..features {
            offsets[f + 1] += offsets[f];
        }
        let mut next: Vec<u32> = offsets[..features].to_vec();
        let mut items = vec![(0u32, 0.0f32); triples.len()];
        for (f, item, w) in triples {
            let slot = &mut next[f as usize];
            items[*slot as usize] = (item, w);
            *slot += 1;
        }
        Postings { offsets, items }
    }

    fn of(&self, feature: u32) -> &[(u32, f32)] {
        let f = feature as usize;
        match (self.offsets.get(f), self.offsets.get(f + 1)) {
            (Some(a), Some(b)) => &self.items[*a as usize..*b as usize],
            _ => &[],
        }
    }
}

/// Nearest phrasing by cosine over character n-grams, per target.
pub struct NgramIndex {
    vectorizer: Vectorizer,
    /// By phrasing: its vector (kept for the nearest-phrasing postings).
    vectors: Vec<SparseVec>,
    /// By feature id: (phrasing, weight) postings, built on the first query
    /// that asks for the nearest phrasing (calibration and explanations only:
    /// a reload does not pay for them).
    postings: std::sync::OnceLock<Postings>,
    /// By feature id: (target, weight) postings of each target's centroid
    /// (the normalised sum of its phrasings' vectors, as in Rocchio).
    centroids: Postings,
    /// By phrasing: the target ordinal it belongs to.
    owner: Vec<u32>,
    targets: usize,
}

impl NgramIndex {
    /// Indexes `phrasings[t]`, the texts of target ordinal `t`; `stop_words`
    /// give no n-grams.
    pub fn build(phrasings: &[Vec<&str>], stop_words: StopWords) -> Self {
        let all: Vec<&str> = phrasings.iter().flatten().copied().collect();
        let (vectorizer, vectors) = Vectorizer::fit_transform(&all, Some(stop_words));
        let features = vectorizer.len();
        // (feature, target, weight), in target order.
        let mut centroids: Vec<(u32, u32, f32)> = Vec::new();
        let mut owner = Vec::with_capacity(all.len());
        // A dense accumulator and the features it touched, in feature order:
        // cheaper than a hash map, and the norm is summed in a fixed order, so
        // the same folder always gives the same centroids.
        let mut sum = vec![0.0f32; vectorizer.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut next = 0usize;
        for (t, texts) in phrasings.iter().enumerate() {
            for _ in texts {
                owner.push(t as u32);
                for (id, x) in vectors.get(next).map_or(&[][..], Vec::as_slice) {
                    if sum[*id as usize] == 0.0 {
                        touched.push(*id);
                    }
                    sum[*id as usize] += x;
                }
                next += 1;
            }
            touched.sort_unstable();
            let norm = touched
                .iter()
                .map(|id| sum[*id as usize] * sum[*id as usize])
                .sum::<f32>()
                .sqrt();
            for id in touched.drain(..) {
                let x = std::mem::take(&mut sum[id as usize]);
                if norm > 0.0 {
                    centroids.push((id, t as u32, x / norm));
                }
            }
        }
        NgramIndex {
            vectorizer,
            vectors,
            postings: std::sync::OnceLock::new(),
            centroids: Postings::by_feature(features, centroids),
            owner,
            targets: phrasings.len(),
        }
    }

    /// By feature id: the (phrasing, weight) postings of every phrasing.
    fn postings(&self) -> &Postings {
        self.postings.get_or_init(|| {
            let triples = self
                .vectors
                .iter()
                .enumerate()
                .flat_map(|(p, vector)| vector.iter().map(move |(id, x)| (*id, p as u32, *x)))
                .collect();
            Postings::by_feature(self.vectorizer.len(), triples)
        })
    }

    /// By target ordinal: the cosine of `text` with the target's centroid and,
    /// with `nearest`, its best cosine with any of the target's phrasings (else
    /// 0); both 0..1. The nearest phrasing walks every phrasing's postings of
    /// the query's n-grams, several times the centroids' work.
    pub fn similarities(&self, text: &str, nearest: bool) -> Vec<Similarity> {
        let query = self.vectorizer.transform(text);
        let mut out = vec![Similarity::default(); self.targets];
        for (id, x) in &query {
            for (t, y) in self.centroids.of(*id) {
                out[*t as usize].centroid += x * y;
            }
        }
        if !nearest {
            return out;
        }
        let mut by_phrasing = vec![0.0f32; self.owner.len()];
        let postings = self.postings();
        for (id, x) in &query {
            for (p, y) in postings.of(*id) {
                by_phrasing[*p as usize] += x * y;
            }
        }
        for (p, score) in by_phrasing.into_iter().enumerate() {
            let t = self.owner[p] as usize;
            if score > out[t].nearest {
                out[t].nearest = score;
            }
        }
        out
    }
}

/// How close a text is to one target, in character n-grams.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Similarity {
    /// Cosine with the nearest phrasing.
    pub nearest: f32,
    /// Cosine with the centroid of all the target's phrasings.
    pub centroid: f32,
}

impl Similarity {
    /// The larger of the two, the evidence that makes a target a candidate.
    pub fn best(&self) -> f32 {
        self.nearest.max(self.centroid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomposed_accents_and_format_characters_normalize_away() {
        for (a, b) in [
            (
                "que\u{301} es la firma electro\u{301}nica",
                "qué es la firma electrónica",
            ),
            ("contra\u{200d}seña", "contraseña"),
            ("\u{202d}clave\u{202c}", "clave"),
            ("usua\u{200b}rio\u{feff}", "usuario"),
            ("CONTRASEÑA", "contrasena"),
        ] {
            assert_eq!(normalize(a), normalize(b), "{a:?}");
        }
    }

    #[test]
    fn nearest_phrasing_survives_typos_at_the_first_letter() {
        let index = NgramIndex::build(
            &[
                vec!["cómo cambio la clave", "cambiar la contraseña"],
                vec!["cómo cargo la factura", "subir cuenta de cobro"],
            ],
            |w| w == "la",
        );
        for (q, want) in [
            ("komo kambio la klave", 0),
            ("cargar factuta", 1),
            ("kuenta de kobro", 1),
        ] {
            let s: Vec<f32> = index
                .similarities(q, true)
                .iter()
                .map(|s| s.nearest)
                .collect();
            let best = if s[0] >= s[1] { 0 } else { 1 };
            assert_eq!(best, want, "{q}: {s:?}");
        }
    }

    #[test]
    fn unknown_text_is_far_from_everything() {
        let index = NgramIndex::build(&[vec!["cómo cambio la clave"]], |_| false);
        assert_eq!(index.similarities("🙂🙂 ???", true)[0].best(), 0.0);
        assert_eq!(index.similarities("", true)[0].best(), 0.0);
    }
}
