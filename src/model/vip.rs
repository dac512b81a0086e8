//! VIP addresses: which instances answer to which VIP name.
//!
//! An instance's `vipAddress` and `secureVipAddress` each hold comma-separated VIP names.
//! The server's `/vips/{vip}` query matches them exactly (E-21); client lookups ignore ASCII
//! case (C-27). [`vip_index`] builds the index for either side.

use super::instance::split_vips;
use super::InstanceInfo;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Which of an instance's two VIP fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VipField {
    /// `vipAddress`.
    Vip,
    /// `secureVipAddress`.
    SecureVip,
}

impl VipField {
    /// The VIP names `instance` carries in this field: the comma-separated elements, empty
    /// ones skipped, neither trimmed nor deduplicated.
    pub fn names(self, instance: &InstanceInfo) -> impl Iterator<Item = &str> {
        split_vips(self.raw(instance))
    }

    /// The field as it is on the instance, commas included.
    pub fn raw(self, instance: &InstanceInfo) -> Option<&str> {
        match self {
            VipField::Vip => instance.vip_address.as_deref(),
            VipField::SecureVip => instance.secure_vip_address.as_deref(),
        }
    }
}

/// How VIP names compare, and so what the keys of a [`VipIndex`] are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VipMatch {
    /// Exactly, byte for byte: the server's `/vips/{vip}` and `/svips/{svip}` (E-21).
    Exact,
    /// Ignoring ASCII case, as client lookups do (C-27): keys are ASCII lower-case.
    IgnoreAsciiCase,
}

impl VipMatch {
    /// The index key of the VIP name `name` (borrowed when it needs no change).
    pub fn key(self, name: &str) -> Cow<'_, str> {
        match self {
            VipMatch::IgnoreAsciiCase if name.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Owned(name.to_ascii_lowercase())
            }
            _ => Cow::Borrowed(name),
        }
    }
}

/// VIP key to the instances that carry it.
pub type VipIndex = HashMap<Box<str>, Vec<Arc<InstanceInfo>>>;

/// Indexes `instances` by the VIP names in `field`.
///
/// Each key ([`VipMatch::key`] of a name) maps to the instances carrying it, in the order
/// of `instances`. An instance is listed once under a key however many of its names map to
/// that key (`"orders,orders"`, or `"orders,ORDERS"` when case is ignored). Instances without
/// a name in `field` appear nowhere.
///
/// The server side indexes a snapshot with [`VipMatch::Exact`]; the client indexes its
/// copy with [`VipMatch::IgnoreAsciiCase`] and looks keys up lower-cased.
///
/// ```
/// use std::sync::Arc;
/// use tower_eureka::model::{vip_index, InstanceInfo, VipField, VipMatch};
///
/// let a = Arc::new(InstanceInfo::builder("orders").host_name("a").vip_address("Orders,shared").build());
/// let b = Arc::new(InstanceInfo::builder("billing").host_name("b").vip_address("shared,SHARED").build());
///
/// let exact = vip_index([&a, &b], VipField::Vip, VipMatch::Exact);
/// assert_eq!(exact["shared"].len(), 2);
/// assert_eq!(exact["SHARED"].len(), 1);
/// assert!(!exact.contains_key("orders"));
///
/// let client = vip_index([&a, &b], VipField::Vip, VipMatch::IgnoreAsciiCase);
/// assert_eq!(client["orders"][0].host_name, "a");
/// let shared: Vec<_> = client["shared"].iter().map(|i| i.host_name.as_str()).collect();
/// assert_eq!(shared, ["a", "b"]); // b once, in input order
/// // The builder's default secure VIP is the lower-case app name.
/// let secure = vip_index([&a, &b], VipField::SecureVip, VipMatch::Exact);
/// assert_eq!(secure["billing"][0].host_name, "b");
/// ```
pub fn vip_index<'a, I>(instances: I, field: VipField, matching: VipMatch) -> VipIndex
where
    I: IntoIterator<Item = &'a Arc<InstanceInfo>>,
{
    let mut lists: Vec<Vec<Arc<InstanceInfo>>> = Vec::new();
    let mut slot_of: HashMap<Cow<'a, str>, usize> = HashMap::new();
    // Instances of one application mostly carry the same field: its distinct keys are
    // looked up once per run of equal fields, not once per instance.
    let mut last: Option<(&'a str, Vec<usize>)> = None;
    for instance in instances {
        let Some(raw) = field.raw(instance) else {
            continue;
        };
        let slots = match &mut last {
            Some((r, slots)) if *r == raw => slots,
            last => {
                let mut slots = Vec::new();
                for name in split_vips(Some(raw)) {
                    let next = lists.len();
                    let slot = *slot_of.entry(matching.key(name)).or_insert(next);
                    if slot == next {
                        lists.push(Vec::new());
                    }
                    if !slots.contains(&slot) {
                        slots.push(slot);
                    }
                }
                &mut last.insert((raw, slots)).1
            }
        };
        for &slot in slots.iter() {
            if let Some(list) = lists.get_mut(slot) {
                list.push(instance.clone());
            }
        }
    }
    slot_of
        .into_iter()
        .map(|(key, slot)| {
            let list = lists.get_mut(slot).map(std::mem::take).unwrap_or_default();
            (Box::from(&*key), list)
        })
        .collect()
}

/// Whether `instance` carries a VIP name whose key is `key`.
///
/// ```
/// use tower_eureka::model::{carries_vip, InstanceInfo, VipField, VipMatch};
/// let a = InstanceInfo::builder("orders").vip_address("x,Orders").build();
/// assert!(carries_vip(&a, VipField::Vip, VipMatch::IgnoreAsciiCase, "orders"));
/// assert!(!carries_vip(&a, VipField::Vip, VipMatch::Exact, "orders"));
/// ```
pub fn carries_vip(
    instance: &InstanceInfo,
    field: VipField,
    matching: VipMatch,
    key: &str,
) -> bool {
    field.names(instance).any(|name| matching.key(name) == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(host: &str, vips: &str, svips: &str) -> Arc<InstanceInfo> {
        Arc::new(
            InstanceInfo::builder("a")
                .host_name(host)
                .vip_address(vips)
                .secure_vip_address(svips)
                .build(),
        )
    }

    // E-21: exact keys, no trimming, each instance once per key, input order kept.
    #[test]
    fn e21_exact_index() {
        let list = [
            inst("1", "x,x, y", "s"),
            inst("2", "X,x", ""),
            inst("3", "", "s,x"),
        ];
        let idx = vip_index(&list, VipField::Vip, VipMatch::Exact);
        let hosts =
            |k: &str| -> Vec<&str> { idx[k].iter().map(|i| i.host_name.as_str()).collect() };
        assert_eq!(hosts("x"), ["1", "2"]);
        assert_eq!(hosts(" y"), ["1"]);
        assert_eq!(hosts("X"), ["2"]);
        assert_eq!(idx.len(), 3);
        let sidx = vip_index(&list, VipField::SecureVip, VipMatch::Exact);
        assert_eq!(sidx["s"].len(), 2);
        assert_eq!(sidx["x"].len(), 1);
    }

    // C-27: keys lower-cased; "X,x" is one name for the client.
    #[test]
    fn c27_case_insensitive_index() {
        let list = [inst("1", "Orders-VIP", ""), inst("2", "X,x", "")];
        let idx = vip_index(&list, VipField::Vip, VipMatch::IgnoreAsciiCase);
        assert_eq!(idx["orders-vip"].len(), 1);
        assert_eq!(idx["x"].len(), 1);
        assert!(!idx.contains_key("Orders-VIP"));
        assert!(matches!(
            VipMatch::IgnoreAsciiCase.key("abc"),
            Cow::Borrowed(_)
        ));
        assert_eq!(VipMatch::IgnoreAsciiCase.key("ÄbC"), "Äbc");
    }
}
