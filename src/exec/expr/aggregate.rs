//! The native aggregates (`count`, `min`, `max`, `sum`, `avg`) as accumulators, shared by
//! SELECT's aggregates over rows (`read::selection`) and the collection functions that
//! aggregate one collection's elements (`collection_min`/`max`/`sum`/`avg`), which
//! Cassandra 5.0 defines by the same aggregates so both behave alike.

use super::arith::{self, Num};
use crate::cql::ast::ArithmeticOp;
use crate::error::{CqlError, CqlResult};
use crate::types::{self, CqlType, NativeType};

/// The native type of an aggregate's input (aggregates take native values only).
fn native_of(ty: &CqlType) -> Option<NativeType> {
    match ty {
        CqlType::Native(t) => Some(*t),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AggregateKind {
    CountRows,
    Count,
    Min,
    Max,
    Sum,
    Avg,
}

/// The running state of one aggregate over one group.
#[derive(Clone, Debug)]
pub enum Accumulator {
    Count(i64),
    Extreme {
        max: bool,
        best: Option<Vec<u8>>,
    },
    Sum {
        total: Option<Num>,
        compensation: f64,
    },
    Avg {
        total: Option<Num>,
        compensation: f64,
        count: i64,
    },
}

impl Accumulator {
    pub fn new(kind: AggregateKind) -> Accumulator {
        match kind {
            AggregateKind::CountRows | AggregateKind::Count => Accumulator::Count(0),
            AggregateKind::Min => Accumulator::Extreme {
                max: false,
                best: None,
            },
            AggregateKind::Max => Accumulator::Extreme {
                max: true,
                best: None,
            },
            AggregateKind::Sum => Accumulator::Sum {
                total: None,
                compensation: 0.0,
            },
            AggregateKind::Avg => Accumulator::Avg {
                total: None,
                compensation: 0.0,
                count: 0,
            },
        }
    }

    /// Adds one input value of type `ty` (`None` for `count(*)`) under `kind`.
    pub fn add(
        &mut self,
        kind: AggregateKind,
        ty: Option<&CqlType>,
        value: Option<Vec<u8>>,
    ) -> CqlResult<()> {
        match self {
            Accumulator::Count(n) => {
                if kind == AggregateKind::CountRows || value.is_some() {
                    *n += 1;
                }
            }
            Accumulator::Extreme { max, best } => {
                let (Some(v), Some(ty)) = (value, ty) else {
                    return Ok(());
                };
                let replace = best.as_deref().is_none_or(|b| {
                    let order = types::compare_values(ty, &v, b);
                    if *max {
                        order.is_gt()
                    } else {
                        order.is_lt()
                    }
                });
                if replace {
                    *best = Some(v);
                }
            }
            Accumulator::Sum {
                total,
                compensation,
            } => {
                let (Some(v), Some(t)) = (value, ty.and_then(native_of)) else {
                    return Ok(());
                };
                let Some(n) = arith::decode(t, &v) else {
                    return Ok(());
                };
                *total = Some(accumulate(t, total.take(), n, compensation));
            }
            Accumulator::Avg {
                total,
                compensation,
                count,
            } => {
                let (Some(v), Some(t)) = (value, ty.and_then(native_of)) else {
                    return Ok(());
                };
                let Some(n) = arith::decode(t, &v) else {
                    return Ok(());
                };
                *count += 1;
                // Decimal averages are kept as a running average, as Cassandra does.
                *total = Some(match (total.take(), n) {
                    (Some(Num::Decimal(avg)), Num::Decimal(x)) => {
                        Num::Decimal(avg.average_step(&x, *count))
                    }
                    (previous, n) => accumulate(t, previous, n, compensation),
                });
            }
        }
        Ok(())
    }

    /// The aggregate's value, for inputs of type `ty`.
    pub fn finish(self, ty: Option<&CqlType>) -> CqlResult<Option<Vec<u8>>> {
        let t = ty.and_then(native_of).unwrap_or(NativeType::Bigint);
        let zero = || arith::encode(t, &Num::Int(0)).map_err(CqlError::invalid);
        Ok(match self {
            Accumulator::Count(n) => Some(n.to_be_bytes().to_vec()),
            Accumulator::Extreme { best, .. } => best,
            Accumulator::Sum { total: None, .. } | Accumulator::Avg { total: None, .. } => {
                Some(zero()?)
            }
            Accumulator::Sum {
                total: Some(n),
                compensation,
            } => Some(arith::encode(t, &compensated(n, compensation)).map_err(CqlError::invalid)?),
            Accumulator::Avg {
                total: Some(n),
                count,
                compensation,
            } => Some(
                arith::encode(t, &average(compensated(n, compensation), count))
                    .map_err(CqlError::invalid)?,
            ),
        })
    }
}

/// Adds `n` to a running sum in the sum's domain: integer types wrap in their own width
/// (Java `int` sums), floating types use compensated (Kahan) summation, decimal and varint
/// are exact.
fn accumulate(ty: NativeType, total: Option<Num>, n: Num, compensation: &mut f64) -> Num {
    let Some(total) = total else {
        return n;
    };
    match (total, n) {
        (Num::Float(sum), Num::Float(x)) => {
            let y = x - *compensation;
            let t = sum + y;
            *compensation = (t - sum) - y;
            Num::Float(t)
        }
        (total, n) => {
            // Averages of integer types must not wrap: they sum in a wider domain.
            let domain = match ty {
                NativeType::Decimal => NativeType::Decimal,
                NativeType::Float | NativeType::Double => NativeType::Double,
                _ => NativeType::Varint,
            };
            arith::apply(ArithmeticOp::Add, domain, &total, &n).unwrap_or(total)
        }
    }
}

/// A floating sum with its Kahan compensation applied the way Cassandra's
/// `FloatSumAggregate` finishes (`sum + compensation`).
fn compensated(total: Num, compensation: f64) -> Num {
    match total {
        Num::Float(sum) => Num::Float(sum + compensation),
        other => other,
    }
}

/// The average of `count` values summing to `total` (decimals are already averaged).
fn average(total: Num, count: i64) -> Num {
    let count = count.max(1);
    match total {
        Num::Float(sum) => Num::Float(sum / count as f64),
        Num::Varint(sum) => Num::Varint(sum / count),
        Num::Int(sum) => Num::Int(sum / count),
        decimal @ Num::Decimal(_) => decimal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_sums_wrap_but_averages_do_not() {
        let int = CqlType::Native(NativeType::Int);
        let mut avg = Accumulator::new(AggregateKind::Avg);
        for _ in 0..2 {
            avg.add(
                AggregateKind::Avg,
                Some(&int),
                Some(i32::MAX.to_be_bytes().to_vec()),
            )
            .expect("adds");
        }
        assert_eq!(
            avg.finish(Some(&int)).expect("finishes"),
            Some(i32::MAX.to_be_bytes().to_vec())
        );
        let mut sum = Accumulator::new(AggregateKind::Sum);
        for _ in 0..2 {
            sum.add(
                AggregateKind::Sum,
                Some(&int),
                Some(i32::MAX.to_be_bytes().to_vec()),
            )
            .expect("adds");
        }
        assert_eq!(
            sum.finish(Some(&int)).expect("finishes"),
            Some((-2i32).to_be_bytes().to_vec())
        );
    }

    #[test]
    fn empty_aggregates_give_cassandra_defaults() {
        let double = CqlType::Native(NativeType::Double);
        assert_eq!(
            Accumulator::new(AggregateKind::Sum)
                .finish(Some(&double))
                .expect("finishes"),
            Some(0f64.to_be_bytes().to_vec())
        );
        assert_eq!(
            Accumulator::new(AggregateKind::Max)
                .finish(Some(&double))
                .expect("finishes"),
            None
        );
        assert_eq!(
            Accumulator::new(AggregateKind::CountRows)
                .finish(None)
                .expect("finishes"),
            Some(0i64.to_be_bytes().to_vec())
        );
    }
}
