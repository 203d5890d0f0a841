/** The one owner group of every bench store. */
export const OWNER = 'group:default/bench';
