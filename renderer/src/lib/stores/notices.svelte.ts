// The notices (toasts) at the bottom of the window: at most four, newest last.
export interface Toast {
  id: number;
  text: () => string;
  kind: 'info' | 'error';
  action?: { label: () => string; run: () => void };
  timeoutMs: number;
}

export type ToastOptions = Partial<Omit<Toast, 'id' | 'text'>>;

export class Notices {
  toasts = $state.raw<Toast[]>([]);
  private lastId = 0;

  /** Shows a notice; its text is a function so it follows the UI language. Returns its id. */
  toast(text: () => string, options: ToastOptions = {}): number {
    const id = ++this.lastId;
    const timeoutMs = options.timeoutMs ?? (options.action ? 8000 : 5000);
    const toast: Toast = { id, text, kind: options.kind ?? 'info', timeoutMs, ...(options.action ? { action: options.action } : {}) };
    this.toasts = [...this.toasts, toast].slice(-4);
    return id;
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((toast) => toast.id !== id);
  }
}
