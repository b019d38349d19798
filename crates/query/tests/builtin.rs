//! The built-in workloads are queries too: `Workload::sql` run by the generic operators gives
//! the very answer (the same digest) the hand-written `streaming` strategy gives today, on the
//! generated `sales` and `orders` tables — so the generic path is the specialised paths' oracle.

use membench_kernel::{Answer, GroupRow, TopRow};
use membench_protocol::{TableSchema, TopNParams, Workload};
use membench_query::Table;
use membench_query::exec::QueryAnswer;
use membench_query::scan::{Reading, run};
use membench_query::sql::plan;
use membench_query::text::Value;
use membench_strategies::{Params, find};

mod common;

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Decimal(u, 2) => *u,
        other => panic!("not an integer or cents: {other:?}"),
    }
}

/// The generic answer in the kernel's canonical form.
fn as_kernel(w: &Workload, a: &QueryAnswer) -> Answer {
    let groups = || {
        a.rows
            .iter()
            .map(|r| GroupRow {
                category: match &r[0] {
                    Value::Str(s) => s.clone(),
                    other => panic!("{other:?}"),
                },
                rows: int(&r[1]) as u64,
                sum_quantity: int(&r[2]),
                sum_total_cents: int(&r[3]),
            })
            .collect()
    };
    match w {
        Workload::TopN(_) => Answer::TopN {
            rows: a
                .rows
                .iter()
                .map(|r| TopRow {
                    order_id: int(&r[0]),
                    total_cents: int(&r[1]),
                })
                .collect(),
        },
        Workload::GroupBy => Answer::GroupBy { groups: groups() },
        Workload::Join(_) => Answer::Join { groups: groups() },
        Workload::Etl | Workload::Query(_) => unreachable!("etl has no SQL; a query is SQL"),
    }
}

#[test]
fn the_builtin_workloads_as_sql_give_todays_answers_through_the_generic_path() {
    let dir = tempfile::tempdir().unwrap();
    let tables = common::generated(dir.path(), 30_000, 4_000);
    let path = |name: &str| tables.iter().find(|(n, _)| n == name).unwrap().1.files[0].clone();
    let schemas: Vec<(&str, &TableSchema)> = tables
        .iter()
        .map(|(n, t)| (n.as_str(), &t.schema))
        .collect();
    let streaming = find("streaming").unwrap();
    let mut workloads: Vec<Workload> = Workload::builtin().collect();
    workloads.push(Workload::TopN(TopNParams {
        n: 7,
        above_cents: 1_234_567,
    }));
    let mut checked = 0;
    for w in workloads {
        let Some(sql) = w.sql() else {
            assert_eq!(w, Workload::Etl, "only etl has no SQL");
            continue;
        };
        let p = plan(&sql, &schemas).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let inputs: Vec<&Table> = p
            .inputs
            .iter()
            .map(|n| &tables.iter().find(|(t, _)| t == n).unwrap().1)
            .collect();
        let generic = as_kernel(&w, &run(&p, &inputs, Reading::Streaming).unwrap().answer);
        let mut params = Params::new(w.clone(), path("sales"));
        if w.is_join() {
            params = Params::new(w.clone(), path("orders"));
            params.items = Some(path("order_items"));
        }
        let today = streaming.run(&params).unwrap().answer;
        assert_eq!(generic.digest(), today.digest(), "{}: {sql}", w.name());
        checked += 1;
    }
    assert_eq!(checked, 4);
}
