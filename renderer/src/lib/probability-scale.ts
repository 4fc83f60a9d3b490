// The token view's colour scale: five steps of a picked token's probability, each a colour of
// viridis (perceptually even and readable with any colour vision), translucent over the page
// so the text keeps its contrast in both themes. The colours are the CSS variables --p-0 (most
// probable) to --p-4 (least), set in ProbabilityLegend.svelte.

/** The lower bound of each step, most probable first; a probability belongs to the first it reaches. */
export const PROBABILITY_STEPS = [0.9, 0.5, 0.2, 0.05, 0] as const;

/** Which step a probability is in (0: most probable). */
export function probabilityStep(probability: number): number {
  const step = PROBABILITY_STEPS.findIndex((floor) => probability >= floor);
  return step < 0 ? PROBABILITY_STEPS.length - 1 : step;
}
