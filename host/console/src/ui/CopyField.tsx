import { useId, useState } from 'react';

/** A read-only value with a Copy button. */
export function CopyField({ label, value, testId }: { label: string; value: string; testId?: string }) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // Clipboard refused (insecure context): the text is selectable anyway.
      (document.getElementById(id) as HTMLInputElement | null)?.select();
    }
  };
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      <div className="secret-box">
        <input id={id} readOnly value={value} className="mono" data-testid={testId} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()} aria-label={`Copy ${label}`}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}
