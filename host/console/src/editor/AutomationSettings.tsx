// Settings of the automation as a whole, shown when no block is selected
// (and for the Start block): name, description, variables, and the
// trigger: run mode, schedule builder, webhook URL (copy, rotate) and the
// execution token with a ready curl line.
import { useState } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { RunMode, ValidationProblem } from '../api/types';
import { rememberSecrets, secretsOf } from '../automations/secrets';
import { CopyField } from '../ui/CopyField';
import { ConfirmDialog } from '../ui/Dialog';
import { ErrorNotice } from '../ui/Notice';
import { JsonObjectField, SelectField, TemplateField } from './fields';
import type { DocMeta } from './graph';
import { nextFires } from './cron';
import { CRON_EXAMPLES, curlLine, isPreset, SCHEDULE_PRESETS, timeZones } from './schedule';

const EMPTY: Record<string, unknown> = {};

interface Props {
  meta: DocMeta;
  automationId: string;
  problems: ValidationProblem[];
  onChange: (meta: DocMeta, field: string) => void;
  /** The server bumped the version (webhook rotation). */
  onVersion: (version: number) => void;
}

export function AutomationSettings({ meta, automationId, problems, onChange, onVersion }: Props) {
  const [secrets, setSecrets] = useState(() => secretsOf(automationId));
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const errs = (field: string) => problems.filter((p) => p.field === field || p.field.startsWith(`${field}.`)).map((p) => p.message);
  const mode: RunMode = meta.run_mode ?? { type: 'manual' };
  const setMode = (m: RunMode) => onChange({ ...meta, run_mode: m }, 'run_mode');
  const origin = window.location.origin;

  const rotate = async () => {
    setConfirmRotate(false);
    setError(null);
    try {
      const r = await api.rotateWebhookSecret(automationId);
      rememberSecrets(automationId, { webhook_path: r.webhook_path });
      setSecrets(secretsOf(automationId));
      onVersion(r.version);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const schedule = mode.type === 'schedule' ? mode : null;
  const preset = schedule && isPreset(schedule.schedule) ? schedule.schedule : 'custom';

  return (
    <div data-testid="automation-settings">
      <h2>Automation</h2>
      {problems.filter((p) => !p.block).length > 0 && (
        <ul className="problems" aria-label="Problems in the automation" data-testid="automation-problems">
          {problems
            .filter((p) => !p.block)
            .map((p, i) => (
              <li key={i}>
                <strong>{p.field}</strong>: {p.message}
              </li>
            ))}
        </ul>
      )}
      <TemplateField label="Name" required mappable={false} value={meta.name} onChange={(v) => onChange({ ...meta, name: v }, 'name')} errors={errs('name')} testId="settings-name" />
      <TemplateField
        label="Description"
        mappable={false}
        multiline
        value={meta.description ?? ''}
        onChange={(v) => onChange({ ...meta, description: v }, 'description')}
        testId="settings-description"
      />
      <JsonObjectField
        label="Variables"
        value={meta.variables ?? EMPTY}
        onChange={(v) => onChange({ ...meta, variables: v }, 'variables')}
        help='A JSON object of variables and their initial values, e.g. {"total": 0}.'
        errors={errs('variables')}
        testId="settings-variables"
      />

      <div className="row">
        <TemplateField
          label="Run deadline (ms)"
          mappable={false}
          value={meta.settings?.deadline_ms == null ? '' : String(meta.settings.deadline_ms)}
          onChange={(v) => onChange({ ...meta, settings: { ...meta.settings, deadline_ms: v.trim() === '' ? null : Number(v) } }, 'settings.deadline_ms')}
          help="Empty: no limit."
          errors={errs('settings.deadline_ms')}
          testId="settings-deadline"
        />
        <TemplateField
          label="Fuel budget"
          mappable={false}
          value={meta.settings?.fuel_budget == null ? '' : String(meta.settings.fuel_budget)}
          onChange={(v) => onChange({ ...meta, settings: { ...meta.settings, fuel_budget: v.trim() === '' ? null : Number(v) } }, 'settings.fuel_budget')}
          help="Shared by all blocks; empty: none."
          errors={errs('settings.fuel_budget')}
          testId="settings-fuel"
        />
      </div>
      <fieldset>
        <legend>Trigger (Start block)</legend>
        <SelectField
          label="Run mode"
          value={mode.type}
          options={[
            { value: 'manual', label: 'Manual (also webhooks and API calls)' },
            { value: 'schedule', label: 'Schedule' },
            { value: 'webhook', label: 'Webhook' },
            { value: 'api', label: 'API call' },
          ]}
          onChange={(v) => setMode(v === 'schedule' ? { type: 'schedule', schedule: 'hourly', timezone: 'UTC' } : ({ type: v } as RunMode))}
          errors={errs('run_mode')}
          testId="settings-run-mode"
        />
        {schedule && (
          <>
            <SelectField
              label="Schedule"
              value={preset}
              options={[...SCHEDULE_PRESETS.map((p) => ({ value: p.value, label: p.label })), { value: 'custom', label: 'Custom (cron)' }]}
              onChange={(v) => setMode({ ...schedule, schedule: v === 'custom' ? '0 9 * * Mon-Fri' : v })}
              testId="settings-schedule-preset"
            />
            {preset === 'custom' && (
              <TemplateField
                label="Cron expression"
                mappable={false}
                value={schedule.schedule}
                onChange={(v) => setMode({ ...schedule, schedule: v })}
                help={`minute hour day month weekday (or with seconds first). E.g. ${CRON_EXAMPLES.map((c) => `${c.value} (${c.label})`).join('; ')}`}
                errors={errs('run_mode.schedule')}
                testId="settings-cron"
              />
            )}
            <div className="field">
              <label htmlFor="tz">Time zone</label>
              <input
                id="tz"
                list="tz-list"
                value={schedule.timezone ?? ''}
                onChange={(e) => setMode({ ...schedule, timezone: e.target.value || null })}
                placeholder="UTC"
                data-testid="settings-timezone"
              />
              <datalist id="tz-list">
                {timeZones().map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </div>
            <FirePreview schedule={schedule.schedule} timezone={schedule.timezone} />
            <SelectField
              label="Ticks missed while the server was down"
              value={schedule.missed ?? 'skip'}
              options={[
                { value: 'skip', label: 'skip them' },
                { value: 'run-once', label: 'run once right after start' },
              ]}
              onChange={(v) => setMode({ ...schedule, missed: v as 'skip' | 'run-once' })}
            />
          </>
        )}
        <h3>Webhook</h3>
        {secrets.webhook_path ? (
          <CopyField label="Webhook URL (POST)" value={`${origin}${secrets.webhook_path}`} testId="webhook-url" />
        ) : (
          <p className="help">The webhook URL holds a secret shown only when the automation is created or the secret rotated. Rotate to get a new URL (the old one stops working).</p>
        )}
        <button type="button" onClick={() => setConfirmRotate(true)} data-testid="rotate-webhook">
          Rotate webhook secret
        </button>
        <h3>API call</h3>
        {!secrets.execution_token && <p className="help">The execution token was shown once, when the automation was created. Paste it into the line below.</p>}
        <CopyField label="curl" value={curlLine(origin, automationId, secrets.execution_token)} testId="curl-line" />
        <ErrorNotice error={error} />
      </fieldset>
      <ConfirmDialog
        open={confirmRotate}
        title="Rotate webhook secret"
        message="The current webhook URL stops working at once. Callers need the new URL."
        confirmLabel="Rotate"
        onCancel={() => setConfirmRotate(false)}
        onConfirm={() => void rotate()}
      />
    </div>
  );
}

/** The next five fire times, in the schedule's time zone. */
function FirePreview({ schedule, timezone }: { schedule: string; timezone?: string | null }) {
  let fires: number[] = [];
  let problem: string | null = null;
  try {
    fires = nextFires(schedule, timezone, Date.now(), 5);
  } catch (e) {
    problem = e instanceof RangeError ? `unknown time zone ${timezone}` : (e as Error).message;
  }
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat(undefined, { timeZone: timezone || 'UTC', dateStyle: 'medium', timeStyle: 'medium' });
  } catch {
    fmt = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'medium' });
  }
  return (
    <div className="field" aria-live="polite" data-testid="schedule-preview">
      <span>Next runs ({timezone || 'UTC'})</span>
      {problem ? (
        <span className="field-error">{problem}</span>
      ) : (
        <ol className="help">
          {fires.map((f) => (
            <li key={f}>{fmt.format(new Date(f))}</li>
          ))}
        </ol>
      )}
    </div>
  );
}
