export const pluginId = 'stores';
