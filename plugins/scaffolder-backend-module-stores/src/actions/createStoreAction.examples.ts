import { TemplateExample } from '@backstage/plugin-scaffolder-node';

// YAML is written out literally: the `yaml` package is not a dependency of this module.
export const examples: TemplateExample[] = [
  {
    description: 'Create a store and wait until it is ready',
    example: `steps:
  - id: create-store
    name: Create store
    action: storeplane:store:create
    input:
      name: \${{ parameters.name }}
      owner: \${{ parameters.owner }}
      plan: \${{ parameters.plan }}
output:
  links:
    - title: Storefront
      url: \${{ steps['create-store'].output.storefrontUrl }}
    - title: wp-admin
      url: \${{ steps['create-store'].output.adminUrl }}
    - title: Open in catalog
      icon: catalog
      entityRef: \${{ steps['create-store'].output.entityRef }}
`,
  },
  {
    description:
      'Ask for a store without waiting; the catalog page shows its progress',
    example: `steps:
  - id: create-store
    name: Create store
    action: storeplane:store:create
    input:
      name: summer-sale
      owner: group:default/team-a
      plan: small
      description: Summer sale landing shop
      waitForReady: false
`,
  },
  {
    description: 'Wait at most 10 minutes for the store to become ready',
    example: `steps:
  - id: create-store
    name: Create store
    action: storeplane:store:create
    input:
      name: summer-sale
      owner: user:default/ann
      engine: woocommerce
      timeoutMinutes: 10
`,
  },
];
