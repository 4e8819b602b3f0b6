/** CLIP-AGIQA's six quality levels, worst first, and the prompt the level features start from. */
export const LEVEL_WORDS = ['terrible', 'bad', 'poor', 'average', 'good', 'perfect'] as const;
export const DEFAULT_PROMPT = 'a photo of {level} quality.';

export function levelPrompts(template: string = DEFAULT_PROMPT): string[] {
  return LEVEL_WORDS.map((w) => template.replace('{level}', w));
}
