//! Columns made of Python objects: the text columns of a database batch and the
//! columns of a summary, as lists for pandas.

use crate::batch::Keys;
use crate::db::{AsRecord, Columns, SummaryBy, Tally, View};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use std::collections::HashMap;

/// The text columns of a batch: prefix, AS name, organisation, registry (None for a
/// miss). The names of a route, and each registry, are made into Python strings
/// once and shared between rows; only the prefix is made per row.
pub(crate) fn details(
    d: &Bound<'_, PyDict>,
    v: &View<'_>,
    keys: Keys,
    cols: &Columns,
) -> PyResult<()> {
    let py = d.py();
    let none = py.None().into_bound(py);
    let text = |x: Option<&str>| x.map_or(none.clone(), |x| PyString::new(py, x).into_any());
    let mut names: HashMap<(u32, u32), [Bound<'_, PyAny>; 3]> = HashMap::new();
    let mut registries: HashMap<Option<&str>, Bound<'_, PyAny>> = HashMap::new();
    let mut out: [Vec<Bound<'_, PyAny>>; 5] = Default::default();
    for i in 0..cols.len() {
        let Some(row) = v.detail(cols, i, keys.get(i)) else {
            out.iter_mut().for_each(|c| c.push(none.clone()));
            continue;
        };
        out[0].push(PyString::new(py, &row.prefix.to_string()).into_any());
        let n = names
            .entry((row.route, row.snapshot))
            .or_insert_with(|| v.names(&row).map(text));
        for (k, name) in n.iter().enumerate() {
            out[k + 1].push(name.clone());
        }
        let registry = registries.entry(row.registry);
        out[4].push(registry.or_insert_with(|| text(row.registry)).clone());
    }
    let names = ["prefix", "as_name", "org_id", "org_name", "registry"];
    for (name, col) in names.iter().zip(out) {
        d.set_item(name, PyList::new(py, col)?)?;
    }
    Ok(())
}

/// The columns of the per-AS or per-country summary.
pub(crate) fn summary<'py, 'a>(
    py: Python<'py>,
    v: &View<'a>,
    by: SummaryBy,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match by {
        SummaryBy::Asn => {
            let rows = py.detach(|| v.as_summary());
            let info = |f: fn(&AsRecord<'a>) -> Option<&'a str>| -> Vec<Option<&'a str>> {
                rows.iter().map(|r| r.info.as_ref().and_then(f)).collect()
            };
            d.set_item("asn", rows.iter().map(|r| r.asn).collect::<Vec<_>>())?;
            d.set_item("as_name", info(|i| i.name))?;
            d.set_item("org_id", info(|i| i.org_id))?;
            d.set_item("org_name", info(|i| i.org_name))?;
            d.set_item("country", info(|i| i.country))?;
            tally_columns(&d, rows.iter().map(|r| &r.tally))?;
        }
        SummaryBy::Country => {
            let rows = py.detach(|| v.country_summary());
            d.set_item(
                "country",
                rows.iter().map(|r| r.country).collect::<Vec<_>>(),
            )?;
            d.set_item("ases", rows.iter().map(|r| r.ases).collect::<Vec<_>>())?;
            tally_columns(&d, rows.iter().map(|r| &r.tally))?;
        }
    }
    Ok(d)
}

fn tally_columns<'a>(
    d: &Bound<'_, PyDict>,
    rows: impl Iterator<Item = &'a Tally> + Clone,
) -> PyResult<()> {
    let col = |f: fn(&Tally) -> u64| rows.clone().map(f).collect::<Vec<_>>();
    d.set_item("ipv4_prefixes", col(|t| t.v4_prefixes))?;
    d.set_item("ipv6_prefixes", col(|t| t.v6_prefixes))?;
    d.set_item("ipv4_addresses", col(|t| t.v4_addresses))?;
    d.set_item(
        "ipv6_addresses",
        rows.map(|t| t.v6_addresses).collect::<Vec<_>>(),
    )?;
    Ok(())
}
