//! Reading one `sources:` entry into its kind's raw struct without losing serde-saphyr's
//! located errors: the entry's deserializer is wrapped so that `kind` (read in a first
//! pass) is skipped, and a key another kind accepts ("does not apply to sources of kind
//! docker") is recorded and skipped instead of failing the whole document, so every
//! such problem is reported with the others. A key no kind accepts still fails
//! deserialization as an unknown field, located by the parser.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use serde::de::value::StrDeserializer;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// What the filter knows about one entry.
pub struct FilterCtx {
    /// Keys (dotted) that some *other* kind accepts.
    pub others: Vec<&'static str>,
    /// Dotted keys recorded as meant for another kind, in document order.
    pub foreign: RefCell<Vec<String>>,
}

/// A deserializer whose struct maps are filtered (see the module docs).
pub struct Filtered<D> {
    pub inner: D,
    pub ctx: Rc<FilterCtx>,
    /// Dotted path of this value inside the entry (`""` for the entry).
    pub path: String,
}

macro_rules! forward {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.inner.$name(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Filtered<D> {
    type Error = D::Error;

    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_seq deserialize_map deserialize_identifier
        deserialize_ignored_any
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let (ctx, path) = (self.ctx.clone(), self.path.clone());
        self.inner
            .deserialize_option(OptionVisitor { visitor, ctx, path })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let v = StructVisitor {
            visitor,
            fields,
            ctx: self.ctx.clone(),
            path: self.path.clone(),
        };
        self.inner.deserialize_struct(name, fields, v)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

struct OptionVisitor<V> {
    visitor: V,
    ctx: Rc<FilterCtx>,
    path: String,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for OptionVisitor<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Filtered {
            inner: d,
            ctx: self.ctx,
            path: self.path,
        })
    }
}

struct StructVisitor<V> {
    visitor: V,
    fields: &'static [&'static str],
    ctx: Rc<FilterCtx>,
    path: String,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StructVisitor<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(FilterMap {
            inner: map,
            fields: self.fields,
            ctx: self.ctx,
            path: self.path,
            current: String::new(),
        })
    }
}

struct FilterMap<A> {
    inner: A,
    fields: &'static [&'static str],
    ctx: Rc<FilterCtx>,
    path: String,
    /// Dotted path of the key whose value comes next.
    current: String,
}

enum KeyOut<S, V> {
    Key(V, String),
    /// Skip this key's value; `Some(path)`: it is meant for another kind.
    Skip(S, Option<String>),
}

struct KeySeed<'a, S> {
    seed: S,
    fields: &'static [&'static str],
    ctx: &'a FilterCtx,
    path: &'a str,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, S> {
    type Value = KeyOut<S, S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let key = <String as serde::Deserialize>::deserialize(d)?;
        let full = if self.path.is_empty() {
            key.clone()
        } else {
            format!("{}.{key}", self.path)
        };
        if !self.fields.contains(&key.as_str()) {
            if self.path.is_empty() && key == "kind" {
                return Ok(KeyOut::Skip(self.seed, None));
            }
            if self.ctx.others.contains(&full.as_str()) {
                return Ok(KeyOut::Skip(self.seed, Some(full)));
            }
        }
        let v = self
            .seed
            .deserialize(StrDeserializer::<D::Error>::new(&key))?;
        Ok(KeyOut::Key(v, full))
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for FilterMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            let out = self.inner.next_key_seed(KeySeed {
                seed,
                fields: self.fields,
                ctx: &self.ctx,
                path: &self.path,
            })?;
            match out {
                None => return Ok(None),
                Some(KeyOut::Key(v, full)) => {
                    self.current = full;
                    return Ok(Some(v));
                }
                Some(KeyOut::Skip(s, foreign)) => {
                    if let Some(f) = foreign {
                        self.ctx.foreign.borrow_mut().push(f);
                    }
                    self.inner.next_value::<IgnoredAny>()?;
                    seed = s;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let path = std::mem::take(&mut self.current);
        self.inner.next_value_seed(ValueSeed {
            seed,
            ctx: self.ctx.clone(),
            path,
        })
    }
}

struct ValueSeed<S> {
    seed: S,
    ctx: Rc<FilterCtx>,
    path: String,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for ValueSeed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        let f = Filtered {
            inner: d,
            ctx: self.ctx,
            path: self.path,
        };
        self.seed.deserialize(f)
    }
}
