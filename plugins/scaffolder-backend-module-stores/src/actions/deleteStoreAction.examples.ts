import { TemplateExample } from '@backstage/plugin-scaffolder-node';

// YAML is written out literally: the `yaml` package is not a dependency of this module.
export const examples: TemplateExample[] = [
  {
    description: 'Delete a store by its id',
    example: `steps:
  - id: delete-store
    name: Delete store
    action: storeplane:store:delete
    input:
      storeId: summer-sale-x1y2z
`,
  },
  {
    description:
      'Delete the store behind a catalog entity and wait until it is gone',
    example: `steps:
  - id: delete-store
    name: Delete store
    action: storeplane:store:delete
    input:
      entityRef: \${{ parameters.store }}
      waitForDeletion: true
      timeoutMinutes: 15
`,
  },
];
