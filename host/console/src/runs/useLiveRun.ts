// Follows one run live: the server-sent events stream
// (GET /api/v1/runs/{id}/events: `step`, `run`, then `end`), falling back
// to polling GET /api/v1/runs/{id} once a second when the stream is not
// available. At the end the full run log is fetched once, so the view
// holds exactly what the history holds.
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { RunRecord, StepRecord } from '../api/types';
import { mergeStep, TERMINAL } from './runModel';

export interface LiveRun {
  runId: string | null;
  run: RunRecord | null;
  steps: StepRecord[];
  /** The log is complete (the run ended and was fetched). */
  done: boolean;
  /** Only the status is visible (an admin looking at another user's run). */
  statusOnly: boolean;
  error: string | null;
}

const IDLE: LiveRun = { runId: null, run: null, steps: [], done: false, statusOnly: false, error: null };

export function useLiveRun(initialRunId: string | null = null) {
  const [state, setState] = useState<LiveRun>(IDLE);
  const source = useRef<EventSource | null>(null);
  const timer = useRef<number | null>(null);
  const current = useRef<string | null>(null);

  const cleanup = useCallback(() => {
    source.current?.close();
    source.current = null;
    if (timer.current !== null) window.clearTimeout(timer.current);
    timer.current = null;
  }, []);

  const fetchLog = useCallback(async (runId: string): Promise<boolean> => {
    try {
      const log = await api.getRun(runId);
      if (current.current !== runId) return true;
      const ended = TERMINAL.has(log.run.status);
      setState((s) => ({
        ...s,
        run: log.run,
        steps: log.steps ?? s.steps,
        statusOnly: log.steps === undefined,
        done: ended,
        error: null,
      }));
      return ended;
    } catch (e) {
      setState((s) => ({ ...s, error: errorMessage(e) }));
      return false;
    }
  }, []);

  const poll = useCallback(
    (runId: string) => {
      const tick = async () => {
        const ended = await fetchLog(runId);
        if (!ended && current.current === runId) timer.current = window.setTimeout(() => void tick(), 1000);
      };
      void tick();
    },
    [fetchLog],
  );

  const follow = useCallback(
    (runId: string) => {
      cleanup();
      current.current = runId;
      setState({ ...IDLE, runId });
      // The first fetch shows what is already there (also for finished runs).
      void fetchLog(runId).then((ended) => {
        if (ended || current.current !== runId) return;
        if (typeof EventSource === 'undefined') return poll(runId);
        const es = new EventSource(api.runEventsUrl(runId), { withCredentials: true });
        source.current = es;
        es.addEventListener('step', (e) => {
          const step = JSON.parse((e as MessageEvent<string>).data) as StepRecord;
          setState((s) => (s.runId === runId ? { ...s, steps: mergeStep(s.steps, step) } : s));
        });
        es.addEventListener('run', (e) => {
          const run = JSON.parse((e as MessageEvent<string>).data) as RunRecord;
          setState((s) => (s.runId === runId ? { ...s, run } : s));
        });
        es.addEventListener('end', () => {
          cleanup();
          void fetchLog(runId);
        });
        es.onerror = () => {
          // No stream (older server) or it broke: poll instead of letting
          // the browser reconnect and replay.
          cleanup();
          poll(runId);
        };
      });
    },
    [cleanup, fetchLog, poll],
  );

  useEffect(() => {
    if (initialRunId) follow(initialRunId);
    return () => {
      current.current = null;
      cleanup();
    };
  }, [initialRunId, follow, cleanup]);

  const clear = useCallback(() => {
    cleanup();
    current.current = null;
    setState(IDLE);
  }, [cleanup]);

  return { live: state, follow, clear };
}
