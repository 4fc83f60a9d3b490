// Synthetic chat text for the storage bench, from a fixed seed: English-like words with a
// Zipf distribution (so some words are in most messages and most are rare, as in real text),
// about one message in seven in Chinese and one in ten mixing both.

import { mulberry32 as prng } from '../../electron/test-support/storage/prng.ts';

export { prng };

const COMMON = (
  'the of and to a in is it you that he was for on are with as I his they be at one have this from or had by hot but some what ' +
  'there we can out other were all your when up use word how said an each she which do their time if will way about many then them ' +
  'model token cache memory prompt answer question context layer weight sample temperature decode prefill stream chat local run ' +
  'file data code test error value system user assistant text search result page window network python function class bread water'
).split(' ');

const SYLLABLES = 'ka lo mi ne su ta ri po ve da ln or en ar is th qu st pr gr tr bl cl fl ex im un re co de mo ba ti ra na le ma'.split(' ');

/** Chinese words (2-4 characters) in rough frequency order. */
export const CHINESE_WORDS = (
  '我们 模型 问题 可以 这个 因为 所以 但是 如果 数据 生成 语言 时间 工作 学习 方法 计算 系统 用户 内容 ' +
  '文件 代码 测试 错误 结果 搜索 页面 网络 函数 注意力 机制 输入 输出 训练 推理 缓存 内存 温度 采样 上下文 ' +
  '本地 运行 对话 历史 记录 导出 导入 备份 恢复 删除 北京 上海 天气 今天 明天 朋友 老师 学生 公司 电脑 ' +
  '手机 应用 设计 开发 性能 速度 质量 安全 隐私 开源 社区 文档 例子 解释 比较 区别 原因 建议 总结 翻译 ' +
  '长城 故宫 火锅 饺子 咖啡 音乐 电影 小说 历史 地理 数学 物理 化学 生物 经济 政治 文化 艺术 体育 旅行'
).split(' ');

const CHINESE_GLUE = '的 了 在 是 和 也 就 都 很 把 被 让 给 从 对 向 吗 呢 吧'.split(' ');

export interface Corpus {
  /** Words by rank (rank 0 the most frequent). */
  words: string[];
  /** A word drawn with Zipf(1) frequencies. */
  word(): string;
  chineseWord(): string;
  userText(): string;
  assistantText(): string;
  title(): string;
  rand: () => number;
}

export function makeCorpus(seed: number, vocabulary = 20_000): Corpus {
  const rand = prng(seed);
  const seen = new Set<string>(COMMON);
  const words = [...COMMON];
  while (words.length < vocabulary) {
    const parts = 1 + Math.floor(rand() * 3);
    let word = '';
    for (let i = 0; i < parts + 1; i += 1) word += SYLLABLES[Math.floor(rand() * SYLLABLES.length)];
    if (!seen.has(word)) {
      seen.add(word);
      words.push(word);
    }
  }
  // Zipf(1): the cumulative weights of 1/(rank+1), sampled by binary search.
  const cumulative = new Float64Array(words.length);
  let total = 0;
  for (let i = 0; i < words.length; i += 1) cumulative[i] = total += 1 / (i + 1);
  const zipf = (n: number): number => {
    const target = rand() * (n === words.length ? total : (cumulative[n - 1] as number));
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const word = () => words[zipf(words.length)] as string;
  const chineseWord = () => CHINESE_WORDS[Math.floor(rand() ** 2 * CHINESE_WORDS.length)] as string;
  const english = (min: number, max: number): string => {
    const count = min + Math.floor(rand() * (max - min));
    const out: string[] = [];
    for (let i = 0; i < count; i += 1) out.push(word());
    const sentence = out.join(' ');
    return `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`;
  };
  const chinese = (min: number, max: number): string => {
    const count = min + Math.floor(rand() * (max - min));
    let out = '';
    for (let i = 0; i < count; i += 1) {
      out += chineseWord();
      if (rand() < 0.4) out += CHINESE_GLUE[Math.floor(rand() * CHINESE_GLUE.length)];
      if (rand() < 0.08) out += '，';
    }
    return `${out}。`;
  };
  const mixed = (min: number, max: number): string => {
    const count = min + Math.floor(rand() * (max - min));
    const out: string[] = [];
    for (let i = 0; i < count; i += 1) out.push(rand() < 0.5 ? word() : chineseWord());
    return out.join(' ');
  };
  const text = (min: number, max: number): string => {
    const kind = rand();
    if (kind < 0.14) return chinese(Math.ceil(min / 2), Math.ceil(max / 2));
    if (kind < 0.24) return mixed(min, max);
    return english(min, max);
  };
  return {
    words,
    word,
    chineseWord,
    rand,
    userText: () => text(4, 30),
    assistantText: () => text(20, 110),
    title: () => (rand() < 0.15 ? `${chineseWord()}${chineseWord()}` : `${word()} ${word()} ${word()}`),
  };
}
