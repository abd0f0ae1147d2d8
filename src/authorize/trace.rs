//! Collects the evaluation steps of one decision, or nothing at all: hosts on
//! the hot path (Envoy) do not pay for text nobody reads.

use crate::authorize::decision::TraceStep;

pub(crate) struct Tracer {
    steps: Option<Vec<TraceStep>>,
}

impl Tracer {
    pub fn new(enabled: bool) -> Self {
        Tracer {
            steps: enabled.then(Vec::new),
        }
    }

    pub fn enabled(&self) -> bool {
        self.steps.is_some()
    }

    /// Records a step; `detail` is only built when tracing.
    pub fn step(&mut self, step: &'static str, ok: bool, detail: impl FnOnce() -> String) {
        if let Some(steps) = &mut self.steps {
            steps.push(TraceStep {
                step,
                ok,
                detail: detail(),
            });
        }
    }

    pub fn into_steps(self) -> Vec<TraceStep> {
        self.steps.unwrap_or_default()
    }
}
