import { ComponentType, useState } from 'react';
import { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';

/**
 * A scaffolder form of one custom string field, holding its value as the template form does and
 * reporting every change.
 */
export function FieldForm(props: {
  field: ComponentType<FieldExtensionComponentProps<string>>;
  id: string;
  title: string;
  description: string;
  required: boolean;
  onValue: (value: string) => void;
  /** The whole template form's data, as the scaffolder hands it to each field. */
  formData?: Record<string, unknown>;
}) {
  const { field: Field, onValue } = props;
  const [value, setValue] = useState<string>();
  const change = (next: string) => {
    setValue(next);
    onValue(next);
  };
  return (
    <Field
      {...({
        onChange: change,
        formData: value,
        required: props.required,
        rawErrors: [],
        schema: { title: props.title, description: props.description },
        idSchema: { $id: `root_${props.id}` },
        uiSchema: {},
        formContext: { formData: props.formData ?? {} },
      } as unknown as FieldExtensionComponentProps<string>)}
    />
  );
}
